/**
 * `room.storage`: the Durable Object storage API for one room, on any driver.
 *
 * - Values are structured-cloned (v8) when `put` is called and on every read.
 * - A read sees every earlier write of the room, awaited or not.
 * - Writes resolve as soon as they are in the room's cache, as on Durable Objects; the room's
 *   output gate holds every message sent after them until they are durable (see room-engine.ts),
 *   and a failed commit resets the room instead of rejecting writes already resolved. `sync()`
 *   waits for durability and rejects with PH_ERR_STORAGE_IO if a commit failed.
 * - Writes issued in one turn (and, behind a slow commit, in several) are committed together,
 *   atomically.
 * - Argument errors (bad key, value, batch, options) reject the returned promise, as workerd does.
 */
import { PartyhouseError } from "../core/errors.js";
import type {
  DurableStorage,
  DurableStorageTransaction,
  GetOptions,
  ListOptions,
  PutOptions,
  RoomRef,
  RoomStorageControl,
  SetAlarmOptions,
} from "../core/api/storage-api.js";
import type { StorageLimits } from "./args.js";
import { checkKeyArgs, encodePutArgs, encodePutOne, toAlarmTime } from "./args.js";
import type { RoomCache } from "./cache.js";
import type { StorageDriver } from "./driver.js";
import { toKeyRange } from "./keys.js";
import type { RoomStorageHooks } from "./room-engine.js";
import { RoomEngine } from "./room-engine.js";
import { StorageTransaction } from "./transaction.js";

export interface RoomStorageOptions {
  driver: StorageDriver;
  ref: RoomRef;
  limits: StorageLimits;
  /** The current hooks; the provider swaps them when the core reopens the room. */
  hooks: () => RoomStorageHooks;
  /** True once the provider is closed: every call rejects from then on. */
  isClosed: () => boolean;
  /** The room's clean cache, under the provider's process-wide budget. */
  cache: RoomCache;
}

/** Lets the provider commit what is pending after it has refused new calls (see provider.ts). */
export const drain: unique symbol = Symbol("partyhouse.storage.drain");
/** True when no write is pending (see provider.ts release). */
export const idle: unique symbol = Symbol("partyhouse.storage.idle");
/** Frees the room's cache when the provider forgets it. */
export const release: unique symbol = Symbol("partyhouse.storage.release");

const ignore = (): void => {};
/** What a write returns: it is in the cache; durability is the output gate's business. */
const inCache: Promise<void> = Promise.resolve();

/**
 * @example
 * const provider = createStorageProvider({ kind: "memory" });
 * const storage = provider.open({ party: "main", room: "r1" }, { onAlarmChange() {} });
 * storage.put("count", 1); // not awaited
 * await storage.get("count"); // 1
 */
export class RoomStorage implements DurableStorage, RoomStorageControl {
  readonly #core: RoomEngine;
  readonly #limits: StorageLimits;
  readonly #isClosed: () => boolean;

  constructor(options: RoomStorageOptions) {
    this.#core = new RoomEngine(options.driver, options.ref, options.hooks, options.cache);
    this.#limits = options.limits;
    this.#isClosed = options.isClosed;
  }

  get<T = unknown>(key: string, options?: GetOptions): Promise<T | undefined>;
  get<T = unknown>(keys: string[], options?: GetOptions): Promise<Map<string, T>>;
  get(keyOrKeys: string | string[], options?: GetOptions): Promise<unknown> {
    return this.#run(() => {
      const keys = checkKeyArgs(keyOrKeys, this.#limits, "get");
      return Array.isArray(keyOrKeys)
        ? this.#core.getMany(keys, undefined, options)
        : this.#core.getOne(keys[0]!, undefined, options);
    });
  }

  list<T = unknown>(options: ListOptions = {}): Promise<Map<string, T>> {
    return this.#run(() => this.#core.list(toKeyRange(options), undefined, options)) as Promise<
      Map<string, T>
    >;
  }

  put<T>(key: string, value: T, options?: PutOptions): Promise<void>;
  put<T>(entries: Record<string, T>, options?: PutOptions): Promise<void>;
  put(keyOrEntries: unknown, value?: unknown, options?: PutOptions): Promise<void> {
    // The common `put(key, value)` without options, written out: a loop of awaited puts spends
    // most of its JavaScript here, and the general path allocates a closure and two arrays.
    if (typeof keyOrEntries === "string" && options === undefined) {
      try {
        this.#ensureOpen();
        const bytes = encodePutOne(keyOrEntries, value, this.#limits);
        const layer = this.#core.openLayer();
        layer.put(keyOrEntries, bytes);
        layer.note(undefined);
        return inCache;
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return this.#run(() => {
      const entries = encodePutArgs(keyOrEntries, value, this.#limits);
      const layer = this.#core.openLayer();
      for (const [key, bytes] of entries) layer.put(key, bytes);
      layer.note(options, options?.noCache === true ? entries.map(([k]) => k) : undefined);
      return inCache;
    });
  }

  delete(key: string, options?: PutOptions): Promise<boolean>;
  delete(keys: string[], options?: PutOptions): Promise<number>;
  delete(keyOrKeys: string | string[], options?: PutOptions): Promise<boolean | number> {
    return this.#run(() => {
      const keys = checkKeyArgs(keyOrKeys, this.#limits, "delete");
      const layer = this.#core.openLayer();
      const count = this.#core.deleteKeys(keys, layer, undefined);
      layer.note(options, options?.noCache === true ? keys : undefined);
      const answer = (n: number) => (Array.isArray(keyOrKeys) ? n : n > 0);
      if (!(count instanceof Promise)) return answer(count);
      const done = count.then(answer);
      // An unawaited delete whose existence check fails must not crash the process.
      done.catch(ignore);
      return done;
    });
  }

  /**
   * Deletes every key of the room. Like Cloudflare before compatibility date 2026-02-24 (which
   * PartyKit projects target), the alarm is kept; call deleteAlarm() to remove it too.
   */
  deleteAll(options?: PutOptions): Promise<void> {
    return this.#run(() => {
      const layer = this.#core.openLayer();
      layer.clear();
      layer.note(options);
      return inCache;
    });
  }

  /**
   * Runs `closure` with a transaction: its reads see its own writes, which reach the room only
   * if the closure returns; a throw (rethrown here) or `txn.rollback()` discards them. Resolves
   * with the closure's result once its writes are in the cache (the output gate holds what the
   * room sends after it until they are durable). Other calls on `storage` made while the closure
   * awaits are not isolated from it (the input gate serialises room events instead).
   */
  async transaction<T>(closure: (txn: DurableStorageTransaction) => Promise<T>): Promise<T> {
    this.#ensureOpen();
    const txn = new StorageTransaction(this.#core, this.#limits, () => this.#ensureOpen());
    let result: T;
    try {
      result = await closure(txn);
    } catch (e) {
      txn.end();
      throw e;
    }
    const writes = txn.end();
    if (writes !== null) {
      this.#ensureOpen();
      // Durability is the output gate's business; a failure resets the room.
      this.#core.absorb(writes).catch(ignore);
    }
    return result;
  }

  getAlarm(options?: GetOptions): Promise<number | null> {
    return this.#run(() => this.#core.getAlarm(undefined, options));
  }

  /** Sets the room's alarm; a time in the past fires at once. The scheduler hears of it on commit. */
  setAlarm(scheduledTime: number | Date, options?: SetAlarmOptions): Promise<void> {
    return this.#run(() => {
      const time = toAlarmTime(scheduledTime, Date.now());
      const layer = this.#core.openLayer();
      layer.setAlarm(time);
      layer.note(options);
      return inCache;
    });
  }

  deleteAlarm(options?: SetAlarmOptions): Promise<void> {
    return this.#run(() => {
      const layer = this.#core.openLayer();
      layer.setAlarm(null);
      layer.note(options);
      return inCache;
    });
  }

  /** Resolves when every write issued so far is durable (commits pending writes right away). */
  sync(): Promise<void> {
    return this.#run(() => this.#core.flush());
  }

  /** The same as sync(), for the platform. */
  flush(): Promise<void> {
    return this.#run(() => this.#core.flush());
  }

  clearFiredAlarm(time: number): Promise<void> {
    return this.#run(() => this.#core.clearFiredAlarm(time));
  }

  alarmFiring(time: number | null): void {
    this.#core.alarmFiring(time);
  }

  /** Commits everything pending even after close; only the provider calls this. */
  [drain](): Promise<void> {
    return this.#core.flush();
  }

  [idle](): boolean {
    return this.#core.idle;
  }

  outputBarrier(): Promise<void> | undefined {
    return this.#core.outputBarrier();
  }

  /** Frees the clean cache (the provider forgets this room). */
  [release](): void {
    this.#core.cache.dispose();
  }

  #ensureOpen(): void {
    if (this.#isClosed()) {
      throw new PartyhouseError(
        "PH_ERR_STORAGE_CLOSED",
        "Storage is closed: the server is shutting down, so this call was not carried out.",
      );
    }
  }

  #run<T>(fn: () => T | Promise<T>): Promise<T> {
    try {
      this.#ensureOpen();
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    }
  }
}
