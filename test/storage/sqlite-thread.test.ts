// The SQLite writer thread and the pipelined commits it allows: a long awaited loop is committed
// in pieces while it runs, writes with no await between them never straddle two pieces, a failed
// piece takes the pieces queued behind it down with it, and kill -9 loses nothing acknowledged.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type { PartyhouseError } from "../../src/core/errors.js";
import type { Batch } from "../../src/storage/driver.js";
import { createStorageProvider, providerFromDriver } from "../../src/storage/provider.js";
import { SqliteDriver } from "../../src/storage/sqlite.js";
import { stopWriterAbruptly } from "../../src/storage/sqlite-thread.js";
import { SpyDriver, killWriterAfter, rejectsWith, tempDir } from "./helpers.js";

const ref = { party: "main", room: "r" };
const hooks = { onAlarmChange() {} };

/** The commit each key landed in, by index into `commits`. */
function commitOf(commits: readonly Batch[]): Map<string, number> {
  const where = new Map<string, number>();
  commits.forEach((batch, i) => {
    for (const [key] of batch.puts) where.set(key, i);
  });
  return where;
}

async function withSpiedThread(
  body: (spy: SpyDriver, path: string, errors: PartyhouseError[]) => Promise<void>,
): Promise<void> {
  const { dir, remove } = tempDir();
  const path = join(dir, "storage.db");
  const driver = new SqliteDriver({ path });
  await driver.startWriterThread();
  const spy = new SpyDriver(driver, false);
  const errors: PartyhouseError[] = [];
  try {
    await body(spy, path, errors);
  } finally {
    await spy.close();
    remove();
  }
}

test("sqlite thread: an awaited loop commits in pieces, no piece splits an await-free run", () =>
  withSpiedThread(async (spy) => {
    const provider = providerFromDriver(spy);
    const storage = provider.open(ref, hooks);
    const steps = 2000;
    for (let i = 0; i < steps; i++) {
      void storage.put(`${i}:a`, i);
      void storage.put(`${i}:b`, i);
      await storage.put(`${i}:c`, i);
    }
    const handedOverDuringLoop = spy.commits.length;
    await storage.sync();
    // 6,000 keys in pieces of at least 512: handed over while the loop ran, not after it.
    assert.ok(handedOverDuringLoop >= 5, `${handedOverDuringLoop} commits before the loop ended`);
    const where = commitOf(spy.commits);
    for (let i = 0; i < steps; i++) {
      const a = where.get(`${i}:a`);
      assert.ok(a !== undefined);
      assert.equal(where.get(`${i}:b`), a, `step ${i} straddles two commits`);
      assert.equal(where.get(`${i}:c`), a, `step ${i} straddles two commits`);
    }
    assert.equal((await storage.list()).size, steps * 3);
    await provider.close();
  }));

test("sqlite thread: a burst with no await is one commit however large", () =>
  withSpiedThread(async (spy) => {
    const provider = providerFromDriver(spy);
    const storage = provider.open(ref, hooks);
    for (let i = 0; i < 5000; i++) void storage.put(`k${i}`, i);
    await storage.sync();
    assert.equal(spy.commits.length, 1);
    assert.equal(spy.commits[0]!.puts.length, 5000);
    await provider.close();
  }));

test("sqlite thread: a failed piece drops the pieces behind it, which never land", () =>
  withSpiedThread(async (spy, path) => {
    const errors: PartyhouseError[] = [];
    const provider = providerFromDriver(spy);
    const storage = provider.open(ref, {
      onAlarmChange() {},
      onCommitError: (e: PartyhouseError) => errors.push(e),
    } as typeof hooks);
    // Hold every commit until the loop is done, so several pieces queue behind the first.
    let release!: () => void;
    spy.commitGate = new Promise<void>((resolve) => (release = resolve));
    spy.failNextCommit = new Error("disk full");
    for (let i = 0; i < 3000; i++) await storage.put(`k${i}`, i);
    const sync = storage.sync();
    release();
    await rejectsWith(sync, "PH_ERR_STORAGE_IO", /disk full/);
    assert.equal(errors.length, 1, "one reset, not one per dropped piece");
    await provider.close();

    const reopened = createStorageProvider({ kind: "sqlite", path });
    assert.equal((await reopened.open(ref, hooks).list()).size, 0, "a later piece landed");
    await reopened.close();
  }));

test("sqlite thread: after a failed commit, the rest of its chain is not applied", async () => {
  const { dir, remove } = tempDir();
  const driver = new SqliteDriver({ path: join(dir, "storage.db"), threadMinKeys: 0 });
  try {
    await driver.startWriterThread();
    const batch = (key: string, chain: number, fence?: { epoch: number }): Batch => ({
      deleteAll: false,
      deletes: [],
      puts: [[key, new Uint8Array([1])]],
      alarm: undefined,
      chain,
      ...(fence === undefined ? {} : { fence }),
    });
    // The room was never claimed, so the fenced commit fails in the thread; the next one of
    // its chain, handed over before that answer, must not land; a new chain does.
    const results = await Promise.allSettled([
      driver.commit(ref, batch("fenced", 0, { epoch: 1 })),
      driver.commit(ref, batch("behind", 0)),
      driver.commit(ref, batch("fresh", 1)),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["rejected", "rejected", "fulfilled"],
    );
    assert.equal((results[0] as PromiseRejectedResult).reason.code, "PH_ERR_FENCED");
    assert.match(String((results[1] as PromiseRejectedResult).reason), /not applied/);
    assert.deepEqual([...driver.get(ref, ["fenced", "behind", "fresh"]).keys()], ["fresh"]);
  } finally {
    await driver.close();
    remove();
  }
});

test("sqlite thread: kill -9 mid-loop keeps every acknowledged round and whole steps", async () => {
  const { dir, remove } = tempDir();
  const path = join(dir, "storage.db");
  const steps = 1000;
  try {
    const rounds = await killWriterAfter([path, String(steps)], 15, "pipeline-writer.ts");
    const provider = createStorageProvider({ kind: "sqlite", path });
    const stored = await provider.open({ party: "main", room: "pipeline" }, hooks).list();
    await provider.close();
    const parts = new Map<string, number>();
    for (const key of stored.keys()) {
      const step = key.slice(0, key.lastIndexOf(":"));
      parts.set(step, (parts.get(step) ?? 0) + 1);
    }
    for (const round of rounds) {
      for (let step = 0; step < steps; step++) {
        assert.equal(parts.get(`${round}:${step}`), 3, `acknowledged ${round}:${step} is missing`);
      }
    }
    for (const [step, count] of parts) assert.equal(count, 3, `step ${step} is torn`);
    const last = Math.max(...rounds.map(Number));
    // The killed round was under way: some of its steps were durable, in whole pieces.
    assert.ok(parts.size >= (last + 1) * steps);
  } finally {
    remove();
  }
});

test("sqlite thread: a dead thread fails its unanswered commits; the next starts a new one", async () => {
  const { dir, remove } = tempDir();
  const driver = new SqliteDriver({ path: join(dir, "storage.db"), threadMinKeys: 0 });
  const many = (prefix: string, n: number): Batch => ({
    deleteAll: false,
    deletes: [],
    puts: Array.from({ length: n }, (_, i) => [`${prefix}${i}`, new Uint8Array([1])] as const),
    alarm: undefined,
    chain: 0,
  });
  try {
    await driver.startWriterThread();
    // Large enough to be in the thread's hands when it is stopped.
    const lost = driver.commit(ref, many("lost-", 100_000));
    await driver[stopWriterAbruptly]();
    await rejectsWith(Promise.resolve(lost), "PH_ERR_STORAGE_IO", /writer thread stopped/);
    // The thread is gone: this one commits on the driver's own thread and starts a new writer.
    await driver.commit(ref, { ...many("after-", 10), chain: 1 });
    await driver.startWriterThread();
    await driver.commit(ref, { ...many("again-", 10), chain: 1 });
    assert.equal(driver.get(ref, ["after-9", "again-9"]).size, 2);
  } finally {
    await driver.close();
    remove();
  }
});
