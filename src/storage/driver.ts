/**
 * The seam between the Durable Object storage semantics (room-storage.ts) and a backend. A driver
 * only stores bytes: values arrive already v8-serialized and keys already validated, and it never
 * sees the in-memory overlay of writes that are not committed yet.
 */
import type { AlarmQuery, AlarmRow, RoomRef } from "../core/api/storage-api.js";

/**
 * SQLite answers synchronously and Postgres will not. Methods may return either; asynchronous
 * drivers must return native Promises (the caller tests `instanceof Promise`). With a synchronous
 * driver a commit completes inside the flush callback, with no extra trip through the event loop.
 */
export type MaybePromise<T> = T | Promise<T>;

/** One stored pair. */
export type Entry = readonly [key: string, value: Uint8Array];

/**
 * A list query, already normalised by `toKeyRange` (keys.ts): `start`/`startAfter`/`prefix`
 * become a lower bound, `end`/`prefix` an exclusive upper bound. Keys compare in UTF-8 byte order
 * (= Unicode code point order), which is SQLite's BINARY collation on TEXT.
 */
export interface KeyRange {
  /** Lowest key to return; absent means from the first key. */
  readonly lower?: string;
  /** When true, `lower` itself is excluded (`startAfter`). */
  readonly lowerExclusive: boolean;
  /** Keys must sort strictly before this one; absent means to the last key. */
  readonly upper?: string;
  /** Walk from the upper end down. `limit` counts from that end. */
  readonly reverse: boolean;
  /** Positive integer; absent means no limit. */
  readonly limit?: number;
}

/**
 * Everything one commit changes in one room. A driver applies it in one transaction, in this
 * order: `deleteAll`, then `deletes`, then `puts`, then `alarm`. The overlay never puts and
 * deletes the same key in one batch, so the order of the last three only matters for clarity.
 */
export interface Batch {
  /** Remove every key of the room first (the alarm row is not touched). */
  readonly deleteAll: boolean;
  readonly deletes: readonly string[];
  readonly puts: readonly Entry[];
  /** `undefined`: leave the alarm row alone; `null`: remove it; a number: set it (epoch ms). */
  readonly alarm: number | null | undefined;
  /**
   * The distributed mode's fencing token: apply the batch only if the room's ownership epoch is
   * still `epoch`, checked in the same transaction as the data; otherwise change nothing and fail
   * with PH_ERR_FENCED. Only cluster placements (PostgreSQL, SQLite shared by --workers) set it.
   */
  readonly fence?: { readonly epoch: number };
  /**
   * For pipelined drivers: the room's commit chain. Once a commit of a chain fails, the driver
   * fails every later commit of that chain it was already handed, without applying it (they were
   * issued on top of writes that never became durable); the engine starts a new chain.
   */
  readonly chain?: number;
}

/**
 * Per-room ordered key/value storage with alarm rows. Implementations: `SqliteDriver`,
 * `MemoryDriver`. Errors may be thrown as they come; the caller wraps them as PH_ERR_STORAGE_IO.
 */
export interface StorageDriver {
  /**
   * True when the driver takes a room's next commit before the previous one has finished and
   * applies them in the order given (honouring `Batch.chain`), so a long run of writes can be
   * committed piece by piece while it goes on. Absent: one commit per room at a time.
   */
  readonly pipelined?: boolean;
  /** Values of those `keys` that exist (any order, missing keys absent). */
  get(ref: RoomRef, keys: readonly string[]): MaybePromise<Map<string, Uint8Array>>;
  /** Entries inside `range`, sorted by key (descending when `range.reverse`), at most `limit`. */
  list(ref: RoomRef, range: KeyRange): MaybePromise<Entry[]>;
  /** The room's alarm time in epoch ms, or null. */
  getAlarm(ref: RoomRef): MaybePromise<number | null>;
  /** Applies `batch` atomically; once this returns (or resolves) the batch is durable. */
  commit(ref: RoomRef, batch: Batch): MaybePromise<void>;
  /**
   * Alarm rows of every room, earliest first: those due before `query.until` (epoch ms; all when
   * absent), at most `query.limit` of them.
   */
  listAlarms(query?: AlarmQuery): MaybePromise<AlarmRow[]>;
  /** Releases files and connections. Called once, after every commit has finished. */
  close(): MaybePromise<void>;
}
