/**
 * The behavioural suite every storage driver must pass. It runs through the public provider and
 * `room.storage` API; the SpyDriver wrapper only observes commits and injects failures.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PartyhouseError } from "../../src/core/errors.js";
import type {
  DurableStorage,
  RoomStorageControl,
  StorageProvider,
} from "../../src/core/api/storage-api.js";
import type { MaybePromise, StorageDriver } from "../../src/storage/driver.js";
import { providerFromDriver } from "../../src/storage/provider.js";
import type { StorageLimitOptions } from "../../src/storage/provider.js";
import { SpyDriver, rejectsWith, throwsWith, utf8Sorted } from "./helpers.js";

export interface SuiteTarget {
  name: string;
  /** A fresh, empty driver; `cleanup` runs after each test, after the driver is closed. */
  newDriver(): MaybePromise<{ driver: StorageDriver; cleanup?: () => MaybePromise<void> }>;
  /** Wrap the driver so every call answers asynchronously. */
  async?: boolean;
}

type Storage = DurableStorage & RoomStorageControl;

interface Fixture {
  spy: SpyDriver;
  provider: StorageProvider;
  storage: Storage;
  alarmChanges: (number | null)[];
  commitErrors: PartyhouseError[];
  open(room: string, party?: string): Storage;
}

export function storageSuite(target: SuiteTarget): void {
  /** Runs `body` with a fresh provider on a fresh driver, closing both afterwards. */
  async function withStorage(
    body: (f: Fixture) => Promise<void>,
    limits?: StorageLimitOptions,
  ): Promise<void> {
    const { driver, cleanup } = await target.newDriver();
    const spy = new SpyDriver(driver, target.async === true);
    const provider = providerFromDriver(spy, limits);
    const alarmChanges: (number | null)[] = [];
    const commitErrors: PartyhouseError[] = [];
    const open = (room: string, party = "main"): Storage =>
      provider.open({ party, room }, {
        onAlarmChange: (t: number | null) => alarmChanges.push(t),
        onCommitError: (e: PartyhouseError) => commitErrors.push(e),
      } as { onAlarmChange(t: number | null): void });
    try {
      await body({ spy, provider, storage: open("room-1"), alarmChanges, commitErrors, open });
    } finally {
      await provider.close().catch(() => {});
      await cleanup?.();
    }
  }

  describe(`storage on ${target.name}`, () => {
    describe("get / put / delete", () => {
      test("a missing key reads undefined; put then get returns the value", () =>
        withStorage(async ({ storage }) => {
          assert.equal(await storage.get("nope"), undefined);
          await storage.put("a", { n: 1 });
          assert.deepEqual(await storage.get("a"), { n: 1 });
          await storage.put("a", "overwritten");
          assert.equal(await storage.get("a"), "overwritten");
        }));

      test("put(entries) writes every pair and skips undefined values", () =>
        withStorage(async ({ storage }) => {
          await storage.put({ x: 1, y: null, z: undefined });
          assert.deepEqual(
            await storage.list(),
            new Map<string, unknown>([
              ["x", 1],
              ["y", null],
            ]),
          );
        }));

      test("get(keys) returns only found keys, sorted by key", () =>
        withStorage(async ({ storage }) => {
          await storage.put({ b: 2, a: 1, "😀": 3, "\uFF5A": 4 });
          const got = await storage.get(["😀", "missing", "b", "\uFF5A", "a", "b"]);
          assert.deepEqual([...got.keys()], ["a", "b", "\uFF5A", "😀"]);
          assert.equal(got.get("b"), 2);
          assert.deepEqual(await storage.get([]), new Map());
        }));

      test("delete(key) says whether it existed; delete(keys) counts distinct deleted keys", () =>
        withStorage(async ({ storage }) => {
          await storage.put({ a: 1, b: 2, c: 3 });
          assert.equal(await storage.delete("a"), true);
          assert.equal(await storage.delete("a"), false);
          assert.equal(await storage.delete(["b", "c", "c", "zz"]), 2);
          assert.equal(await storage.delete([]), 0);
          assert.deepEqual(await storage.list(), new Map());
        }));

      test("put(key, undefined) is refused, as in workerd", () =>
        withStorage(async ({ storage }) => {
          await rejectsWith(storage.put("k", undefined), "PH_ERR_STORAGE_VALUE", /undefined/);
          assert.equal(await storage.get("k"), undefined);
        }));

      test("rooms and parties are isolated; open() returns the same object per room", () =>
        withStorage(async ({ storage, open }) => {
          assert.equal(open("room-1"), storage);
          const other = open("room-2");
          const otherParty = open("room-1", "other");
          assert.notEqual(other, storage);
          assert.notEqual(otherParty, storage);
          await storage.put("k", "mine");
          assert.equal(await other.get("k"), undefined);
          assert.equal(await otherParty.get("k"), undefined);
          await other.deleteAll();
          assert.equal(await storage.get("k"), "mine");
        }));
    });

    describe("list", () => {
      // Code point (UTF-8) order differs from JavaScript's UTF-16 order for these: emoji come
      // after U+FF5A in UTF-8 but before it in UTF-16.
      const keys = ["a", "b", "ab", "é", "\uFF5A", "😀", "😀x", "\u{10FFFF}", "A", "", "a\0"];

      test("returns every key in UTF-8 byte order, non-ASCII and emoji included", () =>
        withStorage(async ({ storage }) => {
          const expected = utf8Sorted(keys);
          assert.notDeepEqual(expected, [...keys].sort(), "the fixture must tell the orders apart");
          await storage.put(Object.fromEntries(keys.map((k, i) => [k, i])));
          assert.deepEqual([...(await storage.list()).keys()], expected);
          assert.deepEqual([...(await storage.list({ reverse: true })).keys()], expected.reverse());
        }));

      test("random keys from every Unicode plane list in UTF-8 byte order, in pages", () =>
        withStorage(async ({ storage }) => {
          // Seeded, so a failure can be replayed; code points from ASCII to plane 16 (astral
          // ones are surrogate pairs in JavaScript) with U+0000 and U+FFFF among them.
          let seed = 42;
          const next = (n: number) => {
            seed = (seed * 1103515245 + 12345) % 2 ** 31;
            return seed % n;
          };
          const pick = () => {
            const ranges = [0x80, 0x800, 0xd800, 0x10000, 0x110000];
            let cp = next(ranges[next(ranges.length)]!);
            if (cp >= 0xd800 && cp < 0xe000) cp += 0x800; // no lone surrogates
            return String.fromCodePoint(cp);
          };
          const keys = new Set<string>(["\0", "\uFFFF", "\u{10000}", "\u{10FFFF}", "\uE000"]);
          while (keys.size < 300) {
            let key = "";
            for (let i = 1 + next(4); i > 0; i--) key += pick();
            keys.add(key);
          }
          const expected = utf8Sorted([...keys]);
          await storage.put(Object.fromEntries(expected.map((k, i) => [k, i])));
          assert.deepEqual([...(await storage.list()).keys()], expected);
          // Paging with startAfter, as applications walk big rooms.
          const paged: string[] = [];
          for (let after: string | undefined; ;) {
            const page = [
              ...(
                await storage.list(
                  after === undefined ? { limit: 37 } : { startAfter: after, limit: 37 },
                )
              ).keys(),
            ];
            paged.push(...page);
            if (page.length < 37) break;
            after = page.at(-1);
          }
          assert.deepEqual(paged, expected);
          const mid = expected[150]!;
          assert.deepEqual(
            [...(await storage.list({ end: mid, reverse: true, limit: 5 })).keys()],
            expected.slice(145, 150).reverse(),
          );
        }));

      test("start, startAfter, end, prefix, reverse and limit", () =>
        withStorage(async ({ storage }) => {
          await storage.put(Object.fromEntries(keys.map((k, i) => [k, i])));
          const list = async (o: Parameters<Storage["list"]>[0]) => [
            ...(await storage.list(o)).keys(),
          ];
          assert.deepEqual(await list({ start: "b" }), [
            "b",
            "é",
            "\uFF5A",
            "😀",
            "😀x",
            "\u{10FFFF}",
          ]);
          assert.deepEqual(await list({ startAfter: "b", end: "😀x" }), ["é", "\uFF5A", "😀"]);
          assert.deepEqual(await list({ start: "a", end: "b" }), ["a", "a\0", "ab"]);
          assert.deepEqual(await list({ prefix: "a" }), ["a", "a\0", "ab"]);
          assert.deepEqual(await list({ prefix: "😀" }), ["😀", "😀x"]);
          assert.deepEqual(await list({ prefix: "a", reverse: true, limit: 2 }), ["ab", "a\0"]);
          assert.deepEqual(await list({ limit: 3 }), ["", "A", "a"]);
          assert.deepEqual(await list({ reverse: true, limit: 1 }), ["\u{10FFFF}"]);
          assert.deepEqual(await list({ prefix: "a", start: "a\0" }), ["a\0", "ab"]);
          assert.deepEqual(await list({ prefix: "a", startAfter: "a" }), ["a\0", "ab"]);
          assert.deepEqual(await list({ prefix: "a", end: "ab" }), ["a", "a\0"]);
          assert.deepEqual(await list({ prefix: "a", start: "b" }), []);
          assert.deepEqual(await list({ start: "b", end: "b" }), []);
          assert.deepEqual(await list({ start: "c", end: "b" }), []);
          assert.deepEqual(await list({ prefix: "zzz" }), []);
          assert.deepEqual(await list({ prefix: "\u{10FFFF}" }), ["\u{10FFFF}"]);
        }));

      test("refuses start with startAfter and a limit under 1; cuts a fractional limit (workerd)", () =>
        withStorage(async ({ storage }) => {
          await rejectsWith(
            storage.list({ start: "a", startAfter: "b" }),
            "PH_ERR_STORAGE_OPTIONS",
            /^list\(\) cannot be called with both start and startAfter values\.$/,
          );
          for (const limit of [0, -1, 0.5, NaN]) {
            await rejectsWith(
              storage.list({ limit }),
              "PH_ERR_STORAGE_OPTIONS",
              /^List limit must be positive\.$/,
            );
          }
          await storage.put({ a: 1, b: 2 });
          assert.deepEqual([...(await storage.list({ limit: 1.5 })).keys()], ["a"]);
        }));
    });

    describe("values are structured clones", () => {
      test("Map, Set, Date, RegExp, bigint, typed arrays, ArrayBuffer, cycles survive", () =>
        withStorage(async ({ storage }) => {
          const cyclic: { self?: unknown; n: number } = { n: 1 };
          cyclic.self = cyclic;
          const value = {
            map: new Map<unknown, unknown>([[1, { deep: [1, 2] }]]),
            set: new Set(["x", 2]),
            date: new Date(1_700_000_000_000),
            re: /ab+c/gi,
            big: 12345678901234567890n,
            u8: new Uint8Array([1, 2, 3]),
            f64: new Float64Array([1.5, -0, NaN]),
            view: new DataView(new Uint8Array([9, 8]).buffer),
            buf: new Uint8Array([7, 7, 7]).buffer,
            nested: { list: [null, true, "s", 1e300] },
          };
          await storage.put("v", value);
          await storage.put("cyclic", cyclic);
          const got = (await storage.get("v")) as typeof value;
          assert.deepEqual(got, value);
          assert.ok(got.map instanceof Map && got.set instanceof Set && got.date instanceof Date);
          assert.ok(got.re instanceof RegExp && got.re.flags === "gi");
          assert.ok(got.u8 instanceof Uint8Array && got.f64 instanceof Float64Array);
          assert.ok(got.buf instanceof ArrayBuffer && got.view instanceof DataView);
          const c = (await storage.get("cyclic")) as typeof cyclic;
          assert.equal(c.self, c);
        }));

      test("functions and symbols are refused with V8's message, as workerd does", () =>
        withStorage(async ({ storage }) => {
          await rejectsWith(
            storage.put("fn", { f() {} }),
            "PH_ERR_STORAGE_VALUE",
            /could not be cloned\.$/,
          );
          await rejectsWith(
            storage.put("sym", Symbol("s")),
            "PH_ERR_STORAGE_VALUE",
            /^Symbol\(s\) could not be cloned\.$/,
          );
          await rejectsWith(
            storage.put({ ok: 1, bad: () => 1 }),
            "PH_ERR_STORAGE_VALUE",
            /^\(\) ?=> ?1 could not be cloned\.$/,
          );
          assert.equal(await storage.get("ok"), undefined, "a refused put(entries) writes nothing");
        }));

      test("put copies at call time; every get returns a fresh copy", () =>
        withStorage(async ({ storage }) => {
          const obj = { list: [1], bytes: new Uint8Array([1, 2, 3]) };
          const written = storage.put("o", obj);
          obj.list.push(2);
          obj.bytes[0] = 99;
          await written;
          const first = (await storage.get("o")) as typeof obj;
          assert.deepEqual(first, { list: [1], bytes: new Uint8Array([1, 2, 3]) });
          first.list.push(3);
          first.bytes[1] = 42;
          // A returned typed array owns its memory: no view into the stored bytes.
          assert.equal(first.bytes.byteOffset, 0);
          assert.equal(first.bytes.buffer.byteLength, 3);
          const second = (await storage.get("o")) as typeof obj;
          assert.deepEqual(second, { list: [1], bytes: new Uint8Array([1, 2, 3]) });
          assert.notEqual(first, second);
          const listed = (await storage.list()).get("o") as typeof obj;
          assert.notEqual(listed, second);
          assert.deepEqual(listed, second);
        }));
    });

    describe("limits", () => {
      test("keys up to 2048 UTF-8 bytes by default; longer ones name size and limit", () =>
        withStorage(async ({ storage }) => {
          await storage.put("k".repeat(2048), 1);
          assert.equal(await storage.get("k".repeat(2048)), 1);
          const emoji = "😀".repeat(513); // 1026 UTF-16 units, 2052 UTF-8 bytes
          await rejectsWith(
            storage.put(emoji, 1),
            "PH_ERR_STORAGE_KEY",
            /^Keys cannot be larger than 2048 bytes\. A key of size 2052 was provided\.$/,
          );
          await rejectsWith(
            storage.get("k".repeat(2049)),
            "PH_ERR_STORAGE_KEY",
            /2048 bytes\. A key of size 2049/,
          );
          await rejectsWith(storage.delete(["ok", "k".repeat(2049)]), "PH_ERR_STORAGE_KEY");
          await rejectsWith(storage.put({ ["k".repeat(2049)]: 1 }), "PH_ERR_STORAGE_KEY");
        }));

      test("keys are coerced to strings as workerd does; lone surrogates are refused", () =>
        withStorage(async ({ storage }) => {
          const anyKey = (k: unknown) => k as string;
          await storage.put(anyKey(7), "seven");
          assert.equal(await storage.get("7"), "seven");
          assert.equal(await storage.get(anyKey(7)), "seven");
          await storage.put(anyKey(null), "null key");
          assert.equal(await storage.get("null"), "null key");
          assert.equal(await storage.get(anyKey(undefined)), undefined);
          assert.deepEqual([...(await storage.get([anyKey(7), "null"])).keys()], ["7", "null"]);
          assert.equal(await storage.delete(anyKey(7)), true);
          await rejectsWith(storage.get(anyKey(Symbol("k"))), "PH_ERR_STORAGE_KEY", /Symbol/);
          await rejectsWith(storage.put("\uD800", 1), "PH_ERR_STORAGE_KEY", /surrogate/);
        }));

      test("values up to 128 KiB serialized (a 128 KiB buffer fits); larger are refused", () =>
        withStorage(async ({ storage }) => {
          await storage.put("max", new Uint8Array(128 * 1024));
          assert.equal(((await storage.get("max")) as Uint8Array).byteLength, 128 * 1024);
          await rejectsWith(
            storage.put("big", "x".repeat(128 * 1024 + 100)),
            "PH_ERR_STORAGE_VALUE",
            /^Values cannot be larger than 131072 bytes\. A value of size \d+ was provided\.$/,
          );
        }));

      test("at most 128 keys per get; put and delete take any number, as in workerd", () =>
        withStorage(async ({ storage }) => {
          const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`);
          const entries = (n: number) => Object.fromEntries(keys(n).map((k) => [k, 1]));
          await storage.put(entries(128));
          assert.equal((await storage.get(keys(128))).size, 128);
          // workerd's message, "pairs" although get takes keys
          const tooMany = /^Maximum number of key value pairs is 128\. 129 pairs were provided\.$/;
          await rejectsWith(storage.get(keys(129)), "PH_ERR_STORAGE_BATCH", tooMany);
          await storage.put(entries(300));
          assert.equal((await storage.list()).size, 300);
          assert.equal(await storage.delete(keys(300)), 300);
          assert.equal((await storage.list()).size, 0);
        }));

      test("key and value limits are configurable", () =>
        withStorage(
          async ({ storage }) => {
            await storage.put("0123456789", "v");
            await rejectsWith(
              storage.put("0123456789a", 1),
              "PH_ERR_STORAGE_KEY",
              /larger than 10 bytes\. A key of size 11/,
            );
            await rejectsWith(
              storage.put("k", "x".repeat(200)),
              "PH_ERR_STORAGE_VALUE",
              /100 bytes/,
            );
          },
          { maxKeyBytes: 10, maxValueBytes: 100 },
        ));
    });

    describe("reads see unawaited writes (overlay)", () => {
      test("put then get and list without awaiting", () =>
        withStorage(async ({ storage }) => {
          await storage.put({ a: 1, c: 3 });
          void storage.put("b", 2);
          void storage.put("a", 10);
          assert.equal(await storage.get("a"), 10);
          assert.deepEqual(
            await storage.list(),
            new Map([
              ["a", 10],
              ["b", 2],
              ["c", 3],
            ]),
          );
          assert.deepEqual([...(await storage.list({ limit: 2 })).keys()], ["a", "b"]);
        }));

      test("delete then get, get(keys) and list", () =>
        withStorage(async ({ storage }) => {
          await storage.put({ a: 1, b: 2, c: 3, d: 4 });
          const deleted = storage.delete("a");
          void storage.delete(["b"]);
          assert.equal(await storage.get("a"), undefined);
          assert.deepEqual([...(await storage.get(["a", "b", "c"])).keys()], ["c"]);
          assert.deepEqual([...(await storage.list({ limit: 1 })).keys()], ["c"]);
          assert.deepEqual(
            [...(await storage.list({ reverse: true, limit: 3 })).keys()],
            ["d", "c"],
          );
          assert.equal(await deleted, true);
          assert.equal(await storage.delete("a"), false);
        }));

      test("put then delete of the same key in one turn", () =>
        withStorage(async ({ storage }) => {
          void storage.put("k", 1);
          const existed = storage.delete("k");
          assert.equal(await storage.get("k"), undefined);
          assert.equal(await existed, true);
          assert.equal(await storage.get("k"), undefined);
        }));

      test("deleteAll then list and get, and puts after it", () =>
        withStorage(async ({ storage }) => {
          await storage.put({ a: 1, b: 2 });
          void storage.deleteAll();
          assert.deepEqual(await storage.list(), new Map());
          assert.equal(await storage.get("a"), undefined);
          void storage.put("c", 3);
          assert.deepEqual(await storage.list(), new Map([["c", 3]]));
          assert.equal(await storage.delete("b"), false);
          await storage.sync();
          assert.deepEqual(await storage.list(), new Map([["c", 3]]));
        }));

      test("writes in one turn become one commit; they resolve from the cache, sync() waits", () =>
        withStorage(async ({ storage, spy }) => {
          const before = spy.commits.length;
          const writes = [
            storage.put("a", 1),
            storage.put({ b: 2, c: 3 }),
            storage.delete("c"),
            storage.setAlarm(Date.now() + 60_000),
          ];
          await Promise.resolve(); // a microtask later is still the same turn
          writes.push(storage.put("d", 4));
          await Promise.all(writes);
          assert.equal(spy.commits.length - before, 0, "resolved before the commit (write-back)");
          await storage.sync();
          assert.equal(spy.commits.length - before, 1);
          const batch = spy.commits.at(-1)!;
          assert.deepEqual(
            batch.puts.map(([k]) => k),
            ["a", "b", "d"],
          );
          assert.deepEqual(batch.deletes, ["c"]);
          assert.equal(typeof batch.alarm, "number");
        }));

      test("sync() resolves once earlier writes are in the driver", () =>
        withStorage(async ({ storage, spy }) => {
          void storage.put("k", "v");
          void storage.deleteAll();
          void storage.put("k2", "v2");
          await storage.sync();
          const stored = await spy.inner.get({ party: "main", room: "room-1" }, ["k", "k2"]);
          assert.deepEqual([...stored.keys()], ["k2"]);
          await storage.flush();
        }));

      test("a failed commit fails sync() with PH_ERR_STORAGE_IO, is reported, reads fall back", () =>
        withStorage(async ({ storage, spy, commitErrors }) => {
          await storage.put("k", "durable");
          await storage.sync();
          spy.failNextCommit = new Error("disk on fire");
          const put = storage.put("k", "lost");
          const barrier = storage.outputBarrier();
          assert.ok(barrier !== undefined, "a confirmed write gates output until durable");
          assert.equal(await storage.get("k"), "lost");
          await put; // in the cache: resolved; the failure resets the room instead
          await rejectsWith(storage.sync(), "PH_ERR_STORAGE_IO", /disk on fire/);
          await rejectsWith(barrier, "PH_ERR_STORAGE_IO", /disk on fire/);
          assert.equal(await storage.get("k"), "durable");
          assert.equal(commitErrors.length, 1);
          await storage.put("k", "again");
          assert.equal(await storage.get("k"), "again");
        }));

      test("an unawaited write whose commit fails does not crash the process", () =>
        withStorage(async ({ storage, spy }) => {
          spy.failNextCommit = new Error("boom");
          void storage.put("k", 1);
          void storage.delete("k");
          void storage.deleteAll();
          await storage.sync().catch(() => {});
          // Give Node a turn to notice unhandled rejections; the runner would fail the test.
          await new Promise((resolve) => setImmediate(resolve));
          await storage.put("k", 2);
          assert.equal(await storage.get("k"), 2);
        }));
    });

    describe("transaction", () => {
      test("commits on return: reads inside see own writes, outside only after", () =>
        withStorage(async ({ storage, spy }) => {
          await storage.put({ a: 1, b: 2 });
          await storage.sync();
          const before = spy.commits.length;
          const result = await storage.transaction(async (txn) => {
            await txn.put("a", 10);
            await txn.put({ c: 3 });
            assert.equal(await txn.delete("b"), true);
            assert.equal(await txn.delete("b"), false);
            assert.equal(await txn.get("a"), 10);
            assert.deepEqual([...(await txn.get(["a", "b", "c"])).keys()], ["a", "c"]);
            assert.deepEqual(
              await txn.list(),
              new Map([
                ["a", 10],
                ["c", 3],
              ]),
            );
            assert.equal(await storage.get("a"), 1, "not visible outside before commit");
            return "done";
          });
          assert.equal(result, "done");
          await storage.sync();
          assert.equal(spy.commits.length - before, 1, "one commit");
          assert.deepEqual(
            await storage.list(),
            new Map([
              ["a", 10],
              ["c", 3],
            ]),
          );
        }));

      test("a throw rolls back and rethrows", () =>
        withStorage(async ({ storage }) => {
          await storage.put("a", 1);
          const boom = new Error("boom");
          await assert.rejects(
            storage.transaction(async (txn) => {
              await txn.put("a", 2);
              await txn.delete("a");
              await txn.setAlarm(Date.now() + 60_000);
              throw boom;
            }),
            (e) => e === boom,
          );
          assert.equal(await storage.get("a"), 1);
          assert.equal(await storage.getAlarm(), null);
        }));

      test("rollback() discards the writes and returns the closure's value", () =>
        withStorage(async ({ storage }) => {
          const result = await storage.transaction(async (txn) => {
            await txn.put("a", 1);
            txn.rollback();
            txn.rollback(); // allowed twice
            await rejectsWith(txn.get("a"), "PH_ERR_STORAGE_TXN", /rolled back/);
            return 7;
          });
          assert.equal(result, 7);
          assert.equal(await storage.get("a"), undefined);
        }));

      test("txn used after its closure returned is refused", () =>
        withStorage(async ({ storage }) => {
          let kept: Parameters<Parameters<Storage["transaction"]>[0]>[0] | undefined;
          await storage.transaction(async (txn) => {
            kept = txn;
          });
          await rejectsWith(kept!.put("a", 1), "PH_ERR_STORAGE_TXN", /already committed/);
          throwsWith(() => kept!.rollback(), "PH_ERR_STORAGE_TXN");
        }));

      test("alarms inside a transaction", () =>
        withStorage(async ({ storage, alarmChanges }) => {
          const time = Date.now() + 60_000;
          await storage.transaction(async (txn) => {
            assert.equal(await txn.getAlarm(), null);
            await txn.setAlarm(time);
            assert.equal(await txn.getAlarm(), time);
            assert.equal(await storage.getAlarm(), null);
          });
          assert.equal(await storage.getAlarm(), time);
          await storage.sync();
          assert.deepEqual(alarmChanges, [time]);
          await storage.transaction(async (txn) => {
            await txn.deleteAlarm();
          });
          assert.equal(await storage.getAlarm(), null);
          await storage.sync();
          assert.deepEqual(alarmChanges, [time, null]);
        }));

      test("a transaction's list honours limit over its own deletes", () =>
        withStorage(async ({ storage }) => {
          await storage.put({ a: 1, b: 2, c: 3 });
          await storage.transaction(async (txn) => {
            void txn.delete("a");
            void txn.put("bb", 4);
            assert.deepEqual([...(await txn.list({ limit: 2 })).keys()], ["b", "bb"]);
          });
          assert.deepEqual([...(await storage.list()).keys()], ["b", "bb", "c"]);
        }));
    });

    describe("alarms", () => {
      test("get, set (number and Date), delete, and the scheduler hook after commit", () =>
        withStorage(async ({ storage, alarmChanges }) => {
          assert.equal(await storage.getAlarm(), null);
          const t1 = Date.now() + 60_000;
          const set = storage.setAlarm(t1);
          assert.equal(await storage.getAlarm(), t1, "visible before the commit");
          await set;
          assert.deepEqual(alarmChanges, [], "announced only once durable");
          await storage.sync();
          assert.deepEqual(alarmChanges, [t1]);
          const t2 = new Date(Date.now() + 120_000);
          await storage.setAlarm(t2);
          assert.equal(await storage.getAlarm(), t2.getTime());
          await storage.sync();
          await storage.deleteAlarm();
          assert.equal(await storage.getAlarm(), null);
          await storage.sync();
          assert.deepEqual(alarmChanges, [t1, t2.getTime(), null]);
        }));

      test("a time in the past becomes now; invalid times are refused", () =>
        withStorage(async ({ storage }) => {
          const before = Date.now();
          await storage.setAlarm(1);
          assert.ok((await storage.getAlarm())! >= before);
          for (const bad of [0, -5, NaN, Infinity, new Date(NaN), "soon", undefined]) {
            await rejectsWith(storage.setAlarm(bad as number), "PH_ERR_ALARM");
          }
          // workerd's messages
          await rejectsWith(
            storage.setAlarm(0),
            "PH_ERR_ALARM",
            /^setAlarm\(\) cannot be called with an alarm time <= 0$/,
          );
          await rejectsWith(storage.setAlarm(NaN), "PH_ERR_ALARM", /not a valid Date\.$/);
          await rejectsWith(
            storage.setAlarm("soon" as unknown as number),
            "PH_ERR_ALARM",
            /is not of type 'date'\.$/,
          );
        }));

      test("deleteAll keeps the alarm", () =>
        withStorage(async ({ storage }) => {
          const t = Date.now() + 60_000;
          await storage.put("k", 1);
          await storage.setAlarm(t);
          await storage.deleteAll();
          assert.equal(await storage.getAlarm(), t);
          assert.equal(await storage.get("k"), undefined);
        }));

      test("listAlarms covers every room, earliest first, including unawaited ones", () =>
        withStorage(async ({ provider, open }) => {
          const now = Date.now();
          await open("r1").setAlarm(now + 30_000);
          void open("r2", "other").setAlarm(now + 10_000);
          await open("r3").setAlarm(now + 20_000);
          await open("r3").deleteAlarm();
          assert.deepEqual(await provider.listAlarms(), [
            { party: "other", room: "r2", time: now + 10_000 },
            { party: "main", room: "r1", time: now + 30_000 },
          ]);
        }));

      test("clearFiredAlarm removes the row only if it still holds that time", () =>
        withStorage(async ({ storage, alarmChanges }) => {
          const t1 = Date.now() + 60_000;
          await storage.setAlarm(t1);
          await storage.sync();
          await storage.clearFiredAlarm(t1);
          assert.equal(await storage.getAlarm(), null);
          const t2 = t1 + 1;
          await storage.setAlarm(t1);
          await storage.sync();
          void storage.setAlarm(t2); // the handler set a new alarm
          await storage.clearFiredAlarm(t1);
          assert.equal(await storage.getAlarm(), t2);
          await storage.sync();
          assert.deepEqual(alarmChanges, [t1, t1, t2], "clearing a fired alarm is not announced");
        }));
    });

    describe("close", () => {
      test("close commits unawaited writes, then every call rejects with PH_ERR_STORAGE_CLOSED", () =>
        withStorage(async ({ provider, storage, spy }) => {
          void storage.put("pending", 1);
          await provider.close();
          assert.deepEqual(
            spy.commits.at(-1)?.puts.map(([k]) => k),
            ["pending"],
          );
          const closed = "PH_ERR_STORAGE_CLOSED";
          await rejectsWith(storage.get("pending"), closed);
          await rejectsWith(storage.put("k", 1), closed);
          await rejectsWith(storage.delete("k"), closed);
          await rejectsWith(storage.list(), closed);
          await rejectsWith(storage.deleteAll(), closed);
          await rejectsWith(
            storage.transaction(async () => {}),
            closed,
          );
          await rejectsWith(storage.getAlarm(), closed);
          await rejectsWith(storage.setAlarm(Date.now() + 1000), closed);
          await rejectsWith(storage.deleteAlarm(), closed);
          await rejectsWith(storage.sync(), closed);
          await rejectsWith(storage.flush(), closed);
          await rejectsWith(storage.clearFiredAlarm(1), closed);
          await rejectsWith(provider.listAlarms(), closed);
          throwsWith(
            () => provider.open({ party: "main", room: "x" }, { onAlarmChange() {} }),
            closed,
          );
          await provider.close(); // idempotent
        }));

      test("a transaction that outlives close is refused", () =>
        withStorage(async ({ provider, storage }) => {
          await rejectsWith(
            storage.transaction(async (txn) => {
              await provider.close();
              await txn.put("k", 1);
            }),
            "PH_ERR_STORAGE_CLOSED",
          );
        }));
    });
  });
}
