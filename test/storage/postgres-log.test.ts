/**
 * Large commits on PostgreSQL are made durable as one log row and applied to `kv` right after
 * (src/storage/postgres-statements.ts). What a naive log gets wrong: a read right after the
 * commit not seeing it, rows left by a crash never applied (or applied after newer writes, or
 * twice), a stale owner's logged commit landing, an acknowledged write lost to kill -9.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PostgresDriver } from "../../src/storage/postgres.js";
import { encodeChanges } from "../../src/storage/batch-codec.js";
import type { BatchChanges } from "../../src/storage/batch-codec.js";
import { logStatement } from "../../src/storage/postgres-statements.js";
import { tableNames } from "../../src/storage/postgres-schema.js";
import { createStorageProvider } from "../../src/storage/provider.js";
import type { Entry } from "../../src/storage/driver.js";
import { killWriterAfter } from "./helpers.js";
import { fileDatabase, whenPostgres } from "./postgres-helpers.js";

const database = fileDatabase();
const bytes = (text: string) => new Uint8Array(Buffer.from(text));
const text = (value: Uint8Array | undefined) =>
  value === undefined ? undefined : Buffer.from(value).toString();
const many = (n: number, tag: string): Entry[] =>
  Array.from({ length: n }, (_, i) => [`k${String(i).padStart(5, "0")}`, bytes(`${tag}${i}`)]);
const batch = (puts: Entry[], extra: Partial<BatchChanges> = {}) => ({
  deleteAll: false,
  deletes: [],
  puts,
  alarm: undefined,
  ...extra,
});

/** A log row as a crash between a logged commit and its apply leaves it. */
async function leaveLogRow(schema: string, room: string, b: BatchChanges) {
  const db = await database();
  const t = tableNames(schema, "partyhouse_");
  const statement = logStatement(
    t,
    { party: "main", room },
    batch([...b.puts], b),
    encodeChanges(b),
  );
  await db.sql.unsafe(statement.text, statement.params as never[]);
}

async function logRows(schema: string): Promise<number> {
  const db = await database();
  const rows = await db.sql.unsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM "${schema}".partyhouse_log`,
  );
  return rows[0]!.n;
}

await whenPostgres(() => {
  describe("PostgreSQL: logged commits", () => {
    it("a large commit is readable at once, then applied and its log row gone", async () => {
      const db = await database();
      const driver = new PostgresDriver({ url: db.url, schema: "big" });
      const ref = { party: "main", room: "big" };
      try {
        await driver.commit(ref, batch(many(2000, "v")));
        // Straight after: get and list must wait for the apply, not read a kv without it.
        const got = await driver.get(ref, ["k00000", "k01999"]);
        assert.equal(text(got.get("k01999")), "v1999");
        const listed = await driver.list(ref, { lowerExclusive: false, reverse: true, limit: 3 });
        assert.deepEqual(
          listed.map(([k]) => k),
          ["k01999", "k01998", "k01997"],
        );
        await driver.commit(ref, batch(many(300, "w"), { deletes: ["k01999"] }));
        assert.equal((await driver.get(ref, ["k01999"])).size, 0);
        assert.equal(text((await driver.get(ref, ["k00299"])).get("k00299")), "w299");
        assert.equal(text((await driver.get(ref, ["k00300"])).get("k00300")), "v300");
        assert.equal(await logRows("big"), 0, "every log row applied");
      } finally {
        await driver.close();
      }
    });

    it("rows left by a crash are applied first, oldest first, exactly once, by racing readers", async () => {
      const db = await database();
      const setup = new PostgresDriver({ url: db.url, schema: "left" });
      await setup.ready();
      await setup.close();
      // Three crashed commits: a=1; then deleteAll + b=1; then a=2. Out of order or twice, a or
      // b goes missing or a reads 1.
      await leaveLogRow("left", "r", batch([["a", bytes("1")]]));
      await leaveLogRow("left", "r", batch([["b", bytes("1")]], { deleteAll: true }));
      await leaveLogRow("left", "r", batch([["a", bytes("2")]]));
      assert.equal(await logRows("left"), 3);
      const drivers = [0, 1, 2].map(() => new PostgresDriver({ url: db.url, schema: "left" }));
      const ref = { party: "main", room: "r" };
      try {
        const reads = await Promise.all(drivers.map((d) => d.get(ref, ["a", "b"])));
        for (const got of reads) {
          assert.equal(text(got.get("a")), "2");
          assert.equal(text(got.get("b")), "1");
        }
        assert.equal(await logRows("left"), 0);
        // A direct (small) commit finding a left-over row applies it first: x ends new.
        await leaveLogRow("left", "r", batch([["x", bytes("old")]]));
        await drivers[0]!.commit(ref, batch([["x", bytes("new")]]));
        assert.equal(text((await drivers[1]!.get(ref, ["x"])).get("x")), "new");
        assert.equal(await logRows("left"), 0);
      } finally {
        await Promise.all(drivers.map((d) => d.close()));
      }
    });

    it("a stale owner's logged commit changes nothing", async () => {
      const db = await database();
      const driver = new PostgresDriver({ url: db.url, schema: "fence" });
      const ref = { party: "main", room: "owned" };
      try {
        await driver.ready();
        await db.sql.unsafe(
          `INSERT INTO fence.partyhouse_rooms (party, room, owner, epoch) VALUES ('main', 'owned', 'n2', 5)`,
        );
        await assert.rejects(
          () => driver.commit(ref, { ...batch(many(500, "s")), alarm: 1, fence: { epoch: 4 } }),
          (e: { code?: string }) => e.code === "PH_ERR_FENCED",
        );
        assert.equal(await logRows("fence"), 0);
        assert.equal((await driver.list(ref, { lowerExclusive: false, reverse: false })).length, 0);
        assert.equal(await driver.getAlarm(ref), null);
        await driver.commit(ref, { ...batch(many(500, "s")), fence: { epoch: 5 } });
        assert.equal(
          (await driver.list(ref, { lowerExclusive: false, reverse: false })).length,
          500,
        );
      } finally {
        await driver.close();
      }
    });

    it("kill -9 of a writer of large commits loses no acknowledged write", async () => {
      const db = await database();
      const url = `${db.url}${db.url.includes("?") ? "&" : "?"}schema=crash`;
      const acknowledged = await killWriterAfter([url, "400"], 30);
      const provider = createStorageProvider({ kind: "postgres", url });
      const storage = provider.open({ party: "main", room: "crash" }, { onAlarmChange() {} });
      try {
        for (const key of acknowledged) {
          const i = Number(key.slice(4));
          assert.deepEqual(await storage.get(key), { i, payload: "x".repeat(i % 500) }, key);
          // Each acknowledged key came with 400 others in the same commit.
          assert.equal(await storage.get(`${key}-399`), i, `${key}-399`);
        }
      } finally {
        await provider.close();
      }
    });
  });
});
