/**
 * One room's storage engine: reads through the overlay to the driver, and the commit queue that
 * turns each turn's writes into one atomic driver commit. The public API (argument checks, the
 * closed state, transactions) is layered on top in room-storage.ts and transaction.ts.
 */
import { PartyhouseError, errorMessage } from "../core/errors.js";
import type { RoomRef } from "../core/storage-api.js";
import { decodeValue } from "./codec.js";
import type { Entry, KeyRange, MaybePromise, StorageDriver } from "./driver.js";
import { compareKeys } from "./keys.js";
import { Layer, lookup, lookupAlarm, mergeList, shadowsInRange } from "./overlay.js";

export interface RoomStorageHooks {
  /** A commit changed the room's alarm (null: removed). Called once the change is durable. */
  onAlarmChange(time: number | null): void;
  /**
   * A commit failed: its writes and every write queued behind it were dropped and their promises
   * rejected. Cloudflare resets the object in this case; the core may do the same.
   */
  onCommitError?(error: PartyhouseError): void;
}

export class RoomCore {
  /** Oldest first: at most one sealed layer (being committed), then the open one. */
  readonly #layers: Layer[] = [];
  #committing = false;
  #scheduled = false;
  /** The alarm whose onAlarm is running: hidden from getAlarm() until it is cleared. */
  #firingAlarm: number | null = null;

  constructor(
    readonly driver: StorageDriver,
    readonly ref: RoomRef,
    readonly hooks: () => RoomStorageHooks,
  ) {}

  // Reads. `top` is an unfinished transaction's own layer, seen only by that transaction.

  async getOne(key: string, top: Layer | undefined): Promise<unknown> {
    const shadow = lookup(this.#layers, top, key);
    if (shadow !== undefined) return shadow === null ? undefined : decodeValue(shadow);
    const stored = await this.#read("get", () => this.driver.get(this.ref, [key]));
    const bytes = stored.get(key);
    return bytes === undefined ? undefined : decodeValue(bytes);
  }

  async getMany(keys: readonly string[], top: Layer | undefined): Promise<Map<string, unknown>> {
    const found = new Map<string, Uint8Array>();
    const missing: string[] = [];
    for (const key of keys) {
      const shadow = lookup(this.#layers, top, key);
      if (shadow === undefined) missing.push(key);
      else if (shadow !== null) found.set(key, shadow);
    }
    if (missing.length > 0) {
      const stored = await this.#read("get", () => this.driver.get(this.ref, missing));
      for (const [key, bytes] of stored) found.set(key, bytes);
    }
    const sorted = [...found.keys()].sort(compareKeys);
    return new Map(sorted.map((key) => [key, decodeValue(found.get(key)!)]));
  }

  async list(range: KeyRange | null, top: Layer | undefined): Promise<Map<string, unknown>> {
    if (range === null) return new Map();
    // Taken before any await, so a commit finishing meanwhile cannot hide a pending write.
    const { shadows, hidesStored } = shadowsInRange(this.#layers, top, range);
    let stored: readonly Entry[] = [];
    if (!hidesStored) {
      const query =
        range.limit === undefined ? range : { ...range, limit: range.limit + shadows.size };
      stored = await this.#read("list", () => this.driver.list(this.ref, query));
    }
    return new Map(mergeList(stored, shadows, range).map(([k, v]) => [k, decodeValue(v)]));
  }

  async getAlarm(top: Layer | undefined): Promise<number | null> {
    let time = lookupAlarm(this.#layers, top);
    if (time === undefined)
      time = await this.#read("getAlarm", () => this.driver.getAlarm(this.ref));
    return time !== null && time === this.#firingAlarm ? null : time;
  }

  alarmFiring(time: number | null): void {
    this.#firingAlarm = time;
  }

  /** Nothing pending: every write issued so far is durable (or failed). */
  get idle(): boolean {
    return this.#layers.length === 0;
  }

  // Writes.

  /** The layer collecting this turn's writes; opening one schedules its commit. */
  openLayer(): Layer {
    const last = this.#layers[this.#layers.length - 1];
    if (last !== undefined && !last.sealed) return last;
    const layer = new Layer();
    this.#layers.push(layer);
    this.#schedule();
    return layer;
  }

  /**
   * Marks `keys` deleted in `target` and counts how many existed just before, as seen from `top`.
   * Keys the overlay does not know are looked up in the driver; when that read is asynchronous
   * the commit waits for it, so it reads the state before the delete.
   */
  deleteKeys(keys: readonly string[], target: Layer, top: Layer | undefined): MaybePromise<number> {
    const unique = [...new Set(keys)];
    let existed = 0;
    const unknown: string[] = [];
    for (const key of unique) {
      const shadow = lookup(this.#layers, top, key);
      if (shadow === undefined) unknown.push(key);
      else if (shadow !== null) existed++;
    }
    const stored =
      unknown.length === 0
        ? undefined
        : this.#read("delete", () => this.driver.get(this.ref, unknown));
    for (const key of unique) target.delete(key);
    if (stored === undefined) return existed;
    if (!(stored instanceof Promise)) return existed + stored.size;
    const count = stored.then((found) => existed + found.size);
    target.barriers.push(count);
    return count;
  }

  /** Moves a finished transaction's writes into this turn's commit; resolves once durable. */
  absorb(txn: Layer): Promise<void> {
    const layer = this.openLayer();
    layer.absorb(txn);
    return layer.durable;
  }

  /** Removes the alarm row if it still holds `time` once pending writes are applied. */
  async clearFiredAlarm(time: number): Promise<void> {
    try {
      let current = lookupAlarm(this.#layers, undefined);
      if (current === undefined) {
        current = await this.#read("getAlarm", () => this.driver.getAlarm(this.ref));
        // A setAlarm/deleteAlarm issued while we read decides instead.
        if (lookupAlarm(this.#layers, undefined) !== undefined) return;
      }
      if (current !== time) return;
      // Not through Layer.setAlarm: the scheduler already knows this alarm is done.
      const layer = this.openLayer();
      layer.alarm = null;
      await layer.durable;
    } finally {
      if (this.#firingAlarm === time) this.#firingAlarm = null;
    }
  }

  /** Starts committing what is pending now; resolves when all of it is durable. */
  flush(): Promise<void> {
    const last = this.#layers[this.#layers.length - 1];
    if (last === undefined) return Promise.resolve();
    this.#pump();
    return last.durable;
  }

  // The commit queue.

  // setImmediate runs after the current macrotask and all its microtasks, so every write issued
  // in this turn, awaited or not, lands in the same layer and the same atomic commit.
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  /** Hands the oldest layer to the driver unless a commit is already running. */
  #pump(): void {
    const layer = this.#layers[0];
    if (this.#committing || layer === undefined) return;
    layer.sealed = true;
    this.#committing = true;
    if (layer.barriers.length === 0) this.#commit(layer);
    else void Promise.allSettled(layer.barriers).then(() => this.#commit(layer));
  }

  #commit(layer: Layer): void {
    let result: MaybePromise<void>;
    try {
      result = this.driver.commit(this.ref, layer.toBatch());
    } catch (e) {
      this.#failed(e);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.#committed(layer),
        (e: unknown) => this.#failed(e),
      );
    } else {
      this.#committed(layer);
    }
  }

  #committed(layer: Layer): void {
    this.#layers.shift();
    this.#committing = false;
    if (layer.alarmChanged) {
      try {
        this.hooks().onAlarmChange(layer.alarm ?? null);
      } catch {
        // The scheduler's bug must not turn a durable write into a rejected promise.
      }
    }
    layer.resolve();
    // Layers opened while this commit ran (async drivers only) go in their own turn.
    if (this.#layers.length > 0) this.#schedule();
  }

  /**
   * Drops the failed layer and everything queued behind it: those writes were issued on top of
   * state that never became durable. Reads fall back to what the driver holds.
   */
  #failed(cause: unknown): void {
    const error = ioError("commit", cause);
    const dropped = this.#layers.splice(0);
    this.#committing = false;
    for (const layer of dropped) layer.reject(error);
    try {
      this.hooks().onCommitError?.(error);
    } catch {}
  }

  /** Runs a driver read, turning its failures (thrown or rejected) into PH_ERR_STORAGE_IO. */
  #read<T>(op: string, fn: () => MaybePromise<T>): MaybePromise<T> {
    let result: MaybePromise<T>;
    try {
      result = fn();
    } catch (e) {
      throw ioError(op, e);
    }
    if (!(result instanceof Promise)) return result;
    return result.catch((e: unknown) => {
      throw ioError(op, e);
    });
  }
}

function ioError(op: string, cause: unknown): PartyhouseError {
  if (cause instanceof PartyhouseError) return cause;
  return new PartyhouseError("PH_ERR_STORAGE_IO", `Storage ${op} failed: ${errorMessage(cause)}`, {
    cause,
  });
}
