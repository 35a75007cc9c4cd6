/**
 * A driver that keeps everything in process memory: for `--persist false` and for tests. It has
 * the same ordering and batch semantics as the SQLite driver, and nothing survives the process.
 */
import type { AlarmQuery, AlarmRow, RoomRef } from "../core/api/storage-api.js";
import type { Batch, Entry, KeyRange, StorageDriver } from "./driver.js";
import { compareKeys, roomKey } from "./keys.js";

/** One room's keys, kept sorted so a range list is two binary searches and a slice. */
class RoomData {
  readonly sorted: string[] = [];
  readonly values = new Map<string, Uint8Array>();

  /** Index of the first key that is not less than `key`. */
  lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.sorted[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  put(key: string, value: Uint8Array): void {
    if (!this.values.has(key)) this.sorted.splice(this.lowerBound(key), 0, key);
    this.values.set(key, value);
  }

  delete(key: string): void {
    if (!this.values.delete(key)) return;
    this.sorted.splice(this.lowerBound(key), 1);
  }
}

export class MemoryDriver implements StorageDriver {
  readonly #rooms = new Map<string, RoomData>();
  readonly #alarms = new Map<string, AlarmRow>();
  #closed = false;

  get(ref: RoomRef, keys: readonly string[]): Map<string, Uint8Array> {
    this.#checkOpen();
    const data = this.#rooms.get(roomKey(ref));
    const found = new Map<string, Uint8Array>();
    if (data === undefined) return found;
    for (const key of keys) {
      const value = data.values.get(key);
      if (value !== undefined) found.set(key, value);
    }
    return found;
  }

  list(ref: RoomRef, range: KeyRange): Entry[] {
    this.#checkOpen();
    const data = this.#rooms.get(roomKey(ref));
    if (data === undefined) return [];
    let from = range.lower === undefined ? 0 : data.lowerBound(range.lower);
    if (range.lowerExclusive && data.sorted[from] === range.lower) from++;
    const to = range.upper === undefined ? data.sorted.length : data.lowerBound(range.upper);
    let keys = data.sorted.slice(from, Math.max(from, to));
    if (range.reverse) keys.reverse();
    if (range.limit !== undefined) keys = keys.slice(0, range.limit);
    return keys.map((key) => [key, data.values.get(key)!]);
  }

  getAlarm(ref: RoomRef): number | null {
    this.#checkOpen();
    return this.#alarms.get(roomKey(ref))?.time ?? null;
  }

  commit(ref: RoomRef, batch: Batch): void {
    this.#checkOpen();
    const id = roomKey(ref);
    let data = this.#rooms.get(id);
    if (batch.deleteAll || data === undefined) {
      data = new RoomData();
      this.#rooms.set(id, data);
    }
    for (const key of batch.deletes) data.delete(key);
    for (const [key, value] of batch.puts) data.put(key, value);
    if (data.values.size === 0) this.#rooms.delete(id);
    if (batch.alarm === null) this.#alarms.delete(id);
    else if (batch.alarm !== undefined) {
      this.#alarms.set(id, { party: ref.party, room: ref.room, time: batch.alarm });
    }
  }

  listAlarms(query?: AlarmQuery): AlarmRow[] {
    this.#checkOpen();
    const until = query?.until ?? Infinity;
    const due = [...this.#alarms.values()].filter((a) => a.time < until);
    due.sort((a, b) => a.time - b.time);
    return query?.limit === undefined ? due : due.slice(0, query.limit);
  }

  close(): void {
    this.#closed = true;
    this.#rooms.clear();
    this.#alarms.clear();
  }

  #checkOpen(): void {
    // The provider never calls a closed driver; this guards against a bug turning into silent
    // writes to a store nobody will read.
    if (this.#closed) throw new Error("The memory storage driver is closed.");
  }
}
