import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { PartyhouseError } from "../../src/core/errors.js";
import { createStorageProvider } from "../../src/storage/provider.js";
import { SqliteDriver } from "../../src/storage/sqlite.js";
import { tempDir } from "./helpers.js";
import { storageSuite } from "./suite.js";

storageSuite({
  name: "sqlite",
  newDriver: () => {
    const { dir, remove } = tempDir();
    return { driver: new SqliteDriver({ path: join(dir, "storage.db") }), cleanup: remove };
  },
});

// Every commit through the writer thread (pipelined), started before the first one.
storageSuite({
  name: "sqlite (writer thread)",
  newDriver: async () => {
    const { dir, remove } = tempDir();
    const driver = new SqliteDriver({ path: join(dir, "storage.db"), threadMinKeys: 0 });
    await driver.startWriterThread();
    return { driver, cleanup: remove };
  },
});

const ref = { party: "main", room: "r" };
const hooks = { onAlarmChange() {} };

test("sqlite: data and alarms survive close and reopen", async () => {
  const { dir, remove } = tempDir();
  const path = join(dir, "nested", "state", "storage.db");
  try {
    const first = createStorageProvider({ kind: "sqlite", path, synchronous: "full" });
    const storage = first.open(ref, hooks);
    const time = Date.now() + 60_000;
    await storage.put({ a: new Map([["x", 1n]]), "😀": new Date(5), b: "gone" });
    void storage.delete("b");
    void storage.setAlarm(time);
    void first.open({ party: "other", room: "r2" }, hooks).setAlarm(time + 1);
    void storage.put("unawaited", [1, 2]);
    await first.close();
    assert.ok(existsSync(path), "parent folders are created");

    const second = createStorageProvider({ kind: "sqlite", path });
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
    await again.clearFiredAlarm(time);
    await second.close();

    const third = createStorageProvider({ kind: "sqlite", path });
    assert.deepEqual(await third.listAlarms(), [{ party: "other", room: "r2", time: time + 1 }]);
    await third.close();
  } finally {
    remove();
  }
});

test("sqlite: one file in WAL mode, tables WITHOUT ROWID", async () => {
  const { dir, remove } = tempDir();
  const path = join(dir, "storage.db");
  try {
    const provider = createStorageProvider({ kind: "sqlite", path });
    await provider.open(ref, hooks).put("k", 1);
    await provider.open({ party: "p2", room: "r" }, hooks).put("k", 2);
    await provider.close();
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    const tables = db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all() as { name: string; sql: string }[];
    assert.deepEqual(
      tables.map((t) => t.name),
      ["alarms", "kv"],
    );
    for (const t of tables) assert.match(t.sql, /WITHOUT ROWID/);
    assert.equal(db.prepare("SELECT count(*) FROM kv").pluck().get(), 2);
    db.close();
  } finally {
    remove();
  }
});

test("sqlite: a commit that fails half-way leaves nothing behind", async () => {
  const { dir, remove } = tempDir();
  try {
    const driver = new SqliteDriver({ path: join(dir, "storage.db") });
    driver.commit(ref, {
      deleteAll: false,
      deletes: [],
      puts: [["keep", Buffer.from("1")]],
      alarm: 5,
    });
    const bad = { not: "bindable" } as unknown as Uint8Array;
    assert.throws(() =>
      driver.commit(ref, {
        deleteAll: true,
        deletes: [],
        puts: [
          ["new", Buffer.from("2")],
          ["bad", bad],
        ],
        alarm: null,
      }),
    );
    assert.deepEqual(
      driver.list(ref, { lowerExclusive: false, reverse: false }).map(([k]) => k),
      ["keep"],
    );
    assert.equal(driver.getAlarm(ref), 5);
    driver.close();
  } finally {
    remove();
  }
});

test("sqlite: a database from a newer schema is refused with a clear error", () => {
  const { dir, remove } = tempDir();
  const path = join(dir, "storage.db");
  try {
    const db = new Database(path);
    db.pragma("user_version = 99");
    db.close();
    assert.throws(
      () => createStorageProvider({ kind: "sqlite", path }),
      (e: unknown) =>
        e instanceof PartyhouseError && e.code === "PH_ERR_STORAGE_IO" && /newer/.test(e.message),
    );
  } finally {
    remove();
  }
});

test("sqlite: an unusable path fails at creation with PH_ERR_STORAGE_IO", async () => {
  const { dir, remove } = tempDir();
  try {
    // The parent "folder" is a file, so neither mkdir nor open can succeed.
    const blocker = join(dir, "file");
    const provider = createStorageProvider({ kind: "sqlite", path: blocker });
    await provider.close();
    assert.throws(
      () => createStorageProvider({ kind: "sqlite", path: join(blocker, "storage.db") }),
      (e: unknown) => e instanceof PartyhouseError && e.code === "PH_ERR_STORAGE_IO",
    );
  } finally {
    remove();
  }
});
