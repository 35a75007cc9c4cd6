/**
 * `partyhouse start --database <url>` and PARTYHOUSE_DATABASE_URL: the real CLI keeps its rooms in
 * PostgreSQL, acknowledged writes survive kill -9, and a database it cannot reach stops it with a
 * coded error that does not show the password.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { killAll, runCli, startCli, tempProject } from "../cli/cli-helpers.js";
import { createDatabase, dropDatabase, whenPostgres } from "./postgres-helpers.js";
import { SCHEMA_VERSION } from "../../src/storage/postgres-schema.js";

const COUNTER = `
export default class Counter {
  constructor(room) { this.room = room; }
  async onRequest(req) {
    if (req.method === "POST") {
      const key = await req.text();
      await this.room.storage.put(key, Date.now());
      return new Response("stored " + key);
    }
    return Response.json([...(await this.room.storage.list()).keys()]);
  }
}
`;

function project(): string {
  const dir = tempProject("ph-pg-cli-");
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src/server.js"), COUNTER);
  writeFileSync(join(dir, "partykit.json"), JSON.stringify({ name: "t", main: "src/server.js" }));
  return dir;
}

await whenPostgres(() => {
  test("partyhouse start --database keeps acknowledged writes across kill -9; the env variable works too", async () => {
    const db = await createDatabase();
    const dir = project();
    try {
      const url = db.url.replace("postgres@", "postgres:pw-not-shown@");
      // Each process is a cluster node; a short lease lets the second claim the room sooner.
      const first = await startCli(
        ["start", "-p", "0", "--database", url, "--lease-ms", "1000"],
        dir,
      );
      assert.match(first.output(), /storage in PostgreSQL postgres:\/\/postgres:\*\*\*@/);
      assert.doesNotMatch(first.output(), /pw-not-shown/);
      const acknowledged: string[] = [];
      await Promise.all(
        Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; i < 25; i++) {
            const key = `w${w}-${i}`;
            const res = await fetch(`${first.url}/parties/main/crash`, {
              method: "POST",
              body: key,
            });
            if ((await res.text()) === `stored ${key}`) acknowledged.push(key);
          }
        }),
      );
      first.child.kill("SIGKILL");
      await first.exited;
      assert.equal(acknowledged.length, 100);

      const rows = await db.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM partyhouse_kv WHERE party = 'main' AND room = 'crash'`;
      assert.equal(rows[0]!.n, 100, "the rows are in PostgreSQL, not in a SQLite file");

      const second = await startCli(["start", "-p", "0"], dir, {
        PARTYHOUSE_DATABASE_URL: url,
        PARTYHOUSE_LEASE_MS: "1000",
      });
      // The killed node owns the room until its lease runs out: 503 until then.
      let res = await fetch(`${second.url}/parties/main/crash`);
      for (let i = 0; res.status === 503 && i < 100; i++) {
        await new Promise((r) => setTimeout(r, 100));
        res = await fetch(`${second.url}/parties/main/crash`);
      }
      assert.equal(res.status, 200);
      const keys = (await res.json()) as string[];
      assert.deepEqual(keys.sort(), acknowledged.sort());
      second.child.kill("SIGTERM");
      assert.equal((await second.exited).code, 0);
    } finally {
      killAll();
      await db.sql.end();
      await dropDatabase(db.name);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("three partyhouse processes started at once on one fresh database migrate it once", async () => {
    const db = await createDatabase();
    const dir = project();
    try {
      const runs = await Promise.all(
        [0, 1, 2].map(() => startCli(["start", "-p", "0", "--database", db.url], dir)),
      );
      await Promise.all(
        runs.map(async (run, i) => {
          const res = await fetch(`${run.url}/parties/main/room-${i}`, {
            method: "POST",
            body: `from-${i}`,
          });
          assert.equal(await res.text(), `stored from-${i}`);
        }),
      );
      const versions = await db.sql`SELECT version FROM partyhouse_schema_version`;
      assert.equal(versions.length, SCHEMA_VERSION, "each migration applied once");
      const rows = await db.sql<{ room: string }[]>`SELECT room FROM partyhouse_kv ORDER BY room`;
      assert.deepEqual(
        rows.map((r) => r.room),
        ["room-0", "room-1", "room-2"],
      );
      for (const run of runs) run.child.kill("SIGTERM");
      for (const run of runs) assert.equal((await run.exited).code, 0);
    } finally {
      killAll();
      await db.sql.end();
      await dropDatabase(db.name);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("partyhouse start with an unreachable database exits 1 with PH_ERR_STORAGE_IO", async () => {
    const dir = project();
    try {
      const { code, out } = await runCli(
        ["start", "-p", "0", "--database", "postgres://u:secret@127.0.0.1:1/db"],
        dir,
      );
      assert.equal(code, 1, out);
      assert.match(out, /PH_ERR_STORAGE_IO/);
      assert.match(out, /postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/);
      assert.doesNotMatch(out, /secret/);
      const both = await runCli(["start", "--database", "postgres://x/db", "--no-persist"], dir);
      assert.equal(both.code, 1);
      assert.match(both.out, /PH_ERR_CONFIG.*--database and --persist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
