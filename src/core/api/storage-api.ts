/**
 * The Durable Object storage API a room sees as `room.storage`. Pure types: the implementation
 * lives in storage/ and is handed to the core by whoever wires the program.
 */

export interface ListOptions {
  start?: string;
  startAfter?: string;
  end?: string;
  prefix?: string;
  reverse?: boolean;
  limit?: number;
  /** Accepted for compatibility; partyhouse always keeps its cache coherent. */
  allowConcurrency?: boolean;
  noCache?: boolean;
}

export interface GetOptions {
  allowConcurrency?: boolean;
  noCache?: boolean;
}

export interface PutOptions {
  allowUnconfirmed?: boolean;
  noCache?: boolean;
}

export interface SetAlarmOptions {
  allowConcurrency?: boolean;
  allowUnconfirmed?: boolean;
}

export interface DurableStorageTransaction {
  get<T = unknown>(key: string, options?: GetOptions): Promise<T | undefined>;
  get<T = unknown>(keys: string[], options?: GetOptions): Promise<Map<string, T>>;
  list<T = unknown>(options?: ListOptions): Promise<Map<string, T>>;
  put<T>(key: string, value: T, options?: PutOptions): Promise<void>;
  put<T>(entries: Record<string, T>, options?: PutOptions): Promise<void>;
  delete(key: string, options?: PutOptions): Promise<boolean>;
  delete(keys: string[], options?: PutOptions): Promise<number>;
  rollback(): void;
  getAlarm(options?: GetOptions): Promise<number | null>;
  setAlarm(scheduledTime: number | Date, options?: SetAlarmOptions): Promise<void>;
  deleteAlarm(options?: SetAlarmOptions): Promise<void>;
}

export interface DurableStorage {
  get<T = unknown>(key: string, options?: GetOptions): Promise<T | undefined>;
  get<T = unknown>(keys: string[], options?: GetOptions): Promise<Map<string, T>>;
  list<T = unknown>(options?: ListOptions): Promise<Map<string, T>>;
  put<T>(key: string, value: T, options?: PutOptions): Promise<void>;
  put<T>(entries: Record<string, T>, options?: PutOptions): Promise<void>;
  delete(key: string, options?: PutOptions): Promise<boolean>;
  delete(keys: string[], options?: PutOptions): Promise<number>;
  deleteAll(options?: PutOptions): Promise<void>;
  transaction<T>(closure: (txn: DurableStorageTransaction) => Promise<T>): Promise<T>;
  getAlarm(options?: GetOptions): Promise<number | null>;
  setAlarm(scheduledTime: number | Date, options?: SetAlarmOptions): Promise<void>;
  deleteAlarm(options?: SetAlarmOptions): Promise<void>;
  sync(): Promise<void>;
}

/** Identifies one room's storage: party name and room id. */
export interface RoomRef {
  readonly party: string;
  readonly room: string;
}

/** A pending alarm as the scheduler sees it. */
export interface AlarmRow extends RoomRef {
  readonly time: number;
}

/** Which alarm rows to list: due before `until` (epoch ms), earliest first, at most `limit`. */
export interface AlarmQuery {
  readonly until?: number;
  readonly limit?: number;
}

/**
 * What the core needs from a storage implementation. `open` returns the room's storage; the core
 * passes `onAlarmChange` so the storage can tell it when an alarm was set or removed, and the core
 * schedules the timer.
 */
/** What a room's storage tells the room that opened it. */
export interface RoomStorageEvents {
  /** A commit changed the room's alarm (null: removed); called once the change is durable. */
  onAlarmChange(time: number | null): void;
  /**
   * A commit failed: its writes and every write behind them are gone. The room discards what its
   * output gate held and resets, as Cloudflare resets a Durable Object.
   */
  onCommitError?(error: Error): void;
  /** An asynchronous read is in flight: deliver no other event until it settles (input gate). */
  onRead?(done: Promise<unknown>): void;
  /**
   * The room's ownership epoch (distributed mode): every commit checks it in the same transaction
   * as the data and fails with PH_ERR_FENCED if another node took the room over. Undefined: no
   * fencing (one process).
   */
  epoch?(): number | undefined;
}

export interface StorageProvider {
  open(ref: RoomRef, hooks: RoomStorageEvents): DurableStorage & RoomStorageControl;
  /**
   * Alarm rows of every room, earliest first (including writes not yet committed). The host
   * reads only those due soon, so a store with millions of far-off alarms costs nothing at start.
   */
  listAlarms(query?: AlarmQuery): Promise<AlarmRow[]>;
  /**
   * The room is gone from this process (evicted, reset): once its pending writes are durable its
   * in-memory state is freed. A later `open` of the same room starts afresh from the driver.
   */
  release(ref: RoomRef): void;
  /** Commit everything pending and release files and connections. */
  close(): Promise<void>;
}

/** Platform-side controls on a room's storage that user code does not see. */
export interface RoomStorageControl {
  /** Resolves when every write issued so far is durable. */
  flush(): Promise<void>;
  /**
   * The output gate: what a message sent now must wait for (the newest confirmed write that is not
   * durable yet), or undefined when it may leave at once. Rejects if that commit fails.
   */
  outputBarrier(): Promise<void> | undefined;
  /**
   * Deletes the alarm row after `onAlarm` succeeded, but only if it still holds `time`
   * (the handler may have set a new alarm).
   */
  clearFiredAlarm(time: number): Promise<void>;
  /**
   * The alarm at `time` is running (null: it stopped without succeeding). Until it is cleared,
   * getAlarm() reports no alarm, as workerd does while onAlarm runs, unless a new one is set.
   */
  alarmFiring(time: number | null): void;
}
