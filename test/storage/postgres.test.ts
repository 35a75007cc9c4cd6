import assert from "node:assert/strict";
import { test } from "node:test";
import { PartyhouseError } from "../../src/core/errors.js";
import { PostgresDriver } from "../../src/storage/postgres.js";
import { SCHEMA_VERSION } from "../../src/storage/postgres-schema.js";
import { createStorageProvider, openStorageProvider } from "../../src/storage/provider.js";
import { fileDatabase, whenPostgres } from "./postgres-helpers.js";
import { storageSuite } from "./suite.js";

const ref = { party: "main", room: "r" };
const hooks = { onAlarmChange() {} };

await whenPostgres(() => {
  const database = fileDatabase();
  let n = 0;

  // Every suite test gets a schema of its own in this file's database, dropped afterwards.
  storageSuite({
    name: "postgres",
    newDriver: async () => {
      const db = await database();
      const schema = `suite_${++n}`;
      return {
        driver: new PostgresDriver({ url: db.url, schema, maxConnections: 2 }),
        cleanup: async () => {
          await db.sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        },
      };
    },
  });

  test("postgres: data and alarms survive close and reopen; tables and version row", async () => {
    const db = await database();
    const url = `${db.url}?schema=reopen`;
    try {
      const first = await openStorageProvider({ kind: "postgres", url });
      const storage = first.open(ref, hooks);
      const time = Date.now() + 60_000;
      await storage.put({ a: new Map([["x", 1n]]), "😀": new Date(5), b: "gone" });
      void storage.delete("b");
      void storage.setAlarm(time);
      void first.open({ party: "other", room: "r2" }, hooks).setAlarm(time + 1);
      void storage.put("unawaited", [1, 2]);
      await first.close();

      const second = createStorageProvider({ kind: "postgres", url });
      const again = second.open(ref, hooks);
      assert.deepEqual(
        await again.list(),
        new Map<string, unknown>([
          ["a", new Map([["x", 1n]])],
          ["unawaited", [1, 2]],
          ["😀", new Date(5)],
        ]),
      );
      assert.equal(await again.getAlarm(), time);
      assert.deepEqual(await second.listAlarms(), [
        { party: "main", room: "r", time },
        { party: "other", room: "r2", time: time + 1 },
      ]);
      await second.close();

      const tables = await db.sql<{ table_name: string }[]>`
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'reopen' ORDER BY table_name`;
      assert.deepEqual(
        tables.map((t) => t.table_name),
        [
          "partyhouse_alarms",
          "partyhouse_cron_ticks",
          "partyhouse_kv",
          "partyhouse_log",
          "partyhouse_nodes",
          "partyhouse_rooms",
          "partyhouse_schema_version",
        ],
      );
      const versions =
        await db.sql`SELECT version FROM reopen.partyhouse_schema_version ORDER BY version`;
      assert.deepEqual(
        versions.map((v) => v["version"] as number),
        Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
      );
      // Keys are their UTF-8 bytes.
      const keys = await db.sql`SELECT key FROM reopen.partyhouse_kv WHERE room = 'r' ORDER BY key`;
      assert.deepEqual(
        keys.map((k) => (k["key"] as Buffer).toString("utf8")),
        ["a", "unawaited", "😀"],
      );
    } finally {
      await db.sql`DROP SCHEMA IF EXISTS reopen CASCADE`;
    }
  });

  test("postgres: several processes' worth of drivers migrating one schema at once", async () => {
    const db = await database();
    const drivers = Array.from(
      { length: 6 },
      () => new PostgresDriver({ url: db.url, schema: "racing", maxConnections: 1 }),
    );
    try {
      await Promise.all(drivers.map((d) => d.ready()));
      await Promise.all(
        drivers.map((d, i) =>
          d.commit(ref, {
            deleteAll: false,
            deletes: [],
            puts: [[`k${i}`, Buffer.from([i])]],
            alarm: undefined,
          }),
        ),
      );
      const rows = await drivers[0]!.list(ref, { lowerExclusive: false, reverse: false });
      assert.equal(rows.length, 6);
      const versions = await db.sql`SELECT version FROM racing.partyhouse_schema_version`;
      assert.equal(versions.length, SCHEMA_VERSION, "each migration applied once");
    } finally {
      await Promise.all(drivers.map((d) => d.close()));
      await db.sql`DROP SCHEMA IF EXISTS racing CASCADE`;
    }
  });

  test("postgres: deleteAll with puts of existing keys, big batches, many rooms at once", async () => {
    const db = await database();
    const driver = new PostgresDriver({ url: db.url, schema: "batches" });
    const all = { lowerExclusive: false, reverse: false };
    const bytes = (n: number) => Buffer.from([n % 256]);
    try {
      await driver.commit(ref, {
        deleteAll: false,
        deletes: [],
        puts: [
          ["a", bytes(1)],
          ["b", bytes(2)],
          ["c", bytes(3)],
        ],
        alarm: 10,
      });
      // One statement deletes every other key and overwrites "b": sibling CTEs must not meet.
      await driver.commit(ref, {
        deleteAll: true,
        deletes: [],
        puts: [
          ["b", bytes(20)],
          ["d", bytes(4)],
        ],
        alarm: undefined,
      });
      assert.deepEqual(await driver.list(ref, all), [
        ["b", bytes(20)],
        ["d", bytes(4)],
      ]);
      assert.equal(await driver.getAlarm(ref), 10, "deleteAll keeps the alarm");
      const many = Array.from({ length: 5000 }, (_, i): [string, Buffer] => [`k${i}`, bytes(i)]);
      await driver.commit(ref, { deleteAll: false, deletes: ["b"], puts: many, alarm: null });
      assert.equal((await driver.list(ref, all)).length, 5001);
      assert.equal(await driver.getAlarm(ref), null);
      // 40 rooms committing concurrently share the pool and its pipelines.
      await Promise.all(
        Array.from({ length: 40 }, async (_, r) => {
          const room = { party: "many", room: `r${r}` };
          for (let i = 0; i < 10; i++) {
            await driver.commit(room, {
              deleteAll: false,
              deletes: [],
              puts: [[`k${i}`, bytes(r)]],
              alarm: r * 100 + i,
            });
          }
        }),
      );
      for (let r = 0; r < 40; r++) {
        const room = { party: "many", room: `r${r}` };
        assert.equal((await driver.list(room, all)).length, 10);
        assert.equal(await driver.getAlarm(room), r * 100 + 9);
      }
      assert.equal((await driver.listAlarms()).length, 40);
    } finally {
      await driver.close();
      await db.sql`DROP SCHEMA IF EXISTS batches CASCADE`;
    }
  });

  test("postgres: table prefix; a database from a newer schema is refused", async () => {
    const db = await database();
    try {
      const driver = new PostgresDriver({ url: db.url, schema: "newer", tablePrefix: "ph2_" });
      await driver.ready();
      await driver.close();
      await db.sql`INSERT INTO newer.ph2_schema_version (version) VALUES (99)`;
      await assert.rejects(
        openStorageProvider({
          kind: "postgres",
          url: db.url,
          schema: "newer",
          tablePrefix: "ph2_",
        }),
        (e: unknown) =>
          e instanceof PartyhouseError &&
          e.code === "PH_ERR_STORAGE_IO" &&
          /newer partyhouse \(schema 99/.test(e.message),
      );
    } finally {
      await db.sql`DROP SCHEMA IF EXISTS newer CASCADE`;
    }
  });

  test("postgres: an unreachable server fails with PH_ERR_STORAGE_IO naming the URL, not the password", async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const url = "postgres://someone:s3cret@127.0.0.1:1/nowhere";
    await assert.rejects(openStorageProvider({ kind: "postgres", url }), (e: unknown) => {
      assert.ok(e instanceof PartyhouseError);
      assert.equal(e.code, "PH_ERR_STORAGE_IO");
      assert.match(e.message, /postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/nowhere/);
      assert.doesNotMatch(e.message, /s3cret/);
      return true;
    });
    // The lazy form reports the same on first use.
    const lazy = createStorageProvider({ kind: "postgres", url });
    await assert.rejects(lazy.open(ref, hooks).get("k"), (e: unknown) => {
      return (
        e instanceof PartyhouseError && e.code === "PH_ERR_STORAGE_IO" && !/s3cret/.test(e.message)
      );
    });
    await lazy.close();
    assert.throws(
      () => createStorageProvider({ kind: "postgres", url: "mysql://x" }),
      (e: unknown) => e instanceof PartyhouseError && e.code === "PH_ERR_CONFIG",
    );
  });
});
