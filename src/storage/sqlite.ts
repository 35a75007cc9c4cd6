/**
 * The default driver: one SQLite file for the whole server, every room's keys in one table.
 * better-sqlite3 is synchronous: reads, and small commits, finish before the call returns, so the
 * overlay resolves them without another trip through the event loop. Large commits (and every
 * commit while one is in flight) go to a writer thread with its own connection instead, so that
 * thousands of row inserts do not stop every room of the process: with WAL, this thread's reads
 * never wait for the writer, and the overlay keeps answering for a batch until it is durable.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { PartyhouseError, errorMessage } from "../core/errors.js";
import type { AlarmQuery, AlarmRow, RoomRef } from "../core/api/storage-api.js";
import type { Batch, Entry, KeyRange, StorageDriver } from "./driver.js";
import { SqliteWriterThread, stopWriterAbruptly } from "./sqlite-thread.js";
import { SqliteWriter } from "./sqlite-writer.js";

export interface SqliteDriverOptions {
  /** The database file; its parent directories are created. `:memory:` works for tests. */
  path: string;
  /**
   * "normal" (default) survives any process crash; "full" also survives power loss and kernel
   * panics, at the cost of an fsync per commit.
   */
  synchronous?: "normal" | "full";
  /**
   * Commits of at least this many keys (puts and deletes; a deleteAll counts as this many) go to
   * the writer thread. Default 128; 0 sends every commit there; Infinity, or a `:memory:`
   * database, keeps every commit on this thread.
   */
  threadMinKeys?: number;
}

const THREAD_MIN_KEYS = 128;
/** How long a commit waits for another process's write lock (--workers share the file). */
const BUSY_TIMEOUT_MS = 5000;

const SCHEMA_VERSION = 1;

// WITHOUT ROWID stores rows in the primary-key b-tree itself, so a room's keys sit together in
// key order and a range list is one index walk. TEXT keys compare with the BINARY collation,
// i.e. memcmp of UTF-8 bytes, which is the order Cloudflare lists keys in.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS kv (
    party TEXT NOT NULL,
    room TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (party, room, key)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS alarms (
    party TEXT NOT NULL,
    room TEXT NOT NULL,
    time INTEGER NOT NULL,
    PRIMARY KEY (party, room)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS alarms_by_time ON alarms (time);
`;

export class SqliteDriver implements StorageDriver {
  readonly #db: Database.Database;
  readonly #getOne: Database.Statement<[string, string, string], Buffer>;
  readonly #getAlarm: Database.Statement<[string, string], number>;
  readonly #listAlarms: Database.Statement<[number, number], AlarmRow>;
  /** List statements by shape (bounds present, direction), prepared on first use. */
  readonly #lists = new Map<string, Database.Statement<unknown[], [string, Buffer]>>();
  readonly #writer: SqliteWriter;
  readonly #thread: SqliteWriterThread | undefined;
  readonly #threadMinKeys: number;
  /** The engine may hand over a commit before the previous one finished (see driver.ts). */
  readonly pipelined: boolean;

  constructor(options: SqliteDriverOptions) {
    try {
      if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
      // Workers of one machine share the file (--workers): wait for another's commit, do not fail.
      this.#db = new Database(options.path, { timeout: BUSY_TIMEOUT_MS });
    } catch (e) {
      throw new PartyhouseError(
        "PH_ERR_STORAGE_IO",
        `Cannot open the storage database ${options.path}: ${errorMessage(e)}`,
        { cause: e },
      );
    }
    try {
      this.#setUp(options.synchronous ?? "normal");
    } catch (e) {
      this.#db.close();
      throw e instanceof PartyhouseError
        ? e
        : new PartyhouseError(
            "PH_ERR_STORAGE_IO",
            `Cannot set up the storage database ${options.path}: ${errorMessage(e)}`,
            { cause: e },
          );
    }
    const db = this.#db;
    this.#getOne = db
      .prepare<[string, string, string], Buffer>(
        "SELECT value FROM kv WHERE party = ? AND room = ? AND key = ?",
      )
      .pluck();
    this.#getAlarm = db
      .prepare<[string, string], number>("SELECT time FROM alarms WHERE party = ? AND room = ?")
      .pluck();
    this.#listAlarms = db.prepare(
      "SELECT party, room, time FROM alarms WHERE time < ? ORDER BY time LIMIT ?",
    );
    this.#writer = new SqliteWriter(db);
    this.#threadMinKeys = options.threadMinKeys ?? THREAD_MIN_KEYS;
    this.#thread =
      options.path === ":memory:" || this.#threadMinKeys === Infinity
        ? undefined
        : new SqliteWriterThread({
            path: options.path,
            synchronous: options.synchronous === "full" ? "FULL" : "NORMAL",
            timeout: BUSY_TIMEOUT_MS,
          });
    this.pipelined = this.#thread !== undefined;
  }

  get(ref: RoomRef, keys: readonly string[]): Map<string, Uint8Array> {
    const found = new Map<string, Uint8Array>();
    for (const key of keys) {
      const value = this.#getOne.get(ref.party, ref.room, key);
      if (value !== undefined) found.set(key, value);
    }
    return found;
  }

  list(ref: RoomRef, range: KeyRange): Entry[] {
    const params: unknown[] = [ref.party, ref.room];
    if (range.lower !== undefined) params.push(range.lower);
    if (range.upper !== undefined) params.push(range.upper);
    params.push(range.limit ?? -1); // SQLite: a negative LIMIT means no limit
    return this.#listStatement(range).all(...params);
  }

  getAlarm(ref: RoomRef): number | null {
    return this.#getAlarm.get(ref.party, ref.room) ?? null;
  }

  commit(ref: RoomRef, batch: Batch): void | Promise<void> {
    const thread = this.#thread;
    // While the thread has commits in flight, every commit queues behind them there: commits of
    // one room stay in order, and this connection never waits for the thread's write lock.
    if (thread !== undefined && (thread.busy || this.#isLarge(batch)) && thread.available()) {
      return thread.commit(ref, batch);
    }
    this.#writer.commit(ref, batch);
  }

  listAlarms(query?: AlarmQuery): AlarmRow[] {
    // SQLite: a negative LIMIT means no limit.
    return this.#listAlarms.all(query?.until ?? Number.MAX_SAFE_INTEGER, query?.limit ?? -1);
  }

  /**
   * Starts the writer thread now rather than on the first large commit (which commits on this
   * thread while the writer starts); resolves once it takes commits. No-op without one.
   */
  startWriterThread(): Promise<void> {
    return this.#thread?.start() ?? Promise.resolve();
  }

  /** Stops the writer thread as a crash would (tests only; see sqlite-thread.ts). */
  [stopWriterAbruptly](): Promise<number> {
    return this.#thread?.[stopWriterAbruptly]() ?? Promise.resolve(0);
  }

  async close(): Promise<void> {
    await this.#thread?.close();
    this.#db.close();
  }

  #isLarge(batch: Batch): boolean {
    const keys = batch.deleteAll ? Infinity : batch.puts.length + batch.deletes.length;
    return keys >= this.#threadMinKeys;
  }

  #listStatement(range: KeyRange): Database.Statement<unknown[], [string, Buffer]> {
    const lower = range.lower === undefined ? "" : range.lowerExclusive ? ">" : ">=";
    const shape = `${lower}|${range.upper !== undefined}|${range.reverse}`;
    let statement = this.#lists.get(shape);
    if (statement === undefined) {
      const sql =
        "SELECT key, value FROM kv WHERE party = ? AND room = ?" +
        (lower === "" ? "" : ` AND key ${lower} ?`) +
        (range.upper === undefined ? "" : " AND key < ?") +
        ` ORDER BY key ${range.reverse ? "DESC" : "ASC"} LIMIT ?`;
      statement = this.#db.prepare<unknown[], [string, Buffer]>(sql).raw();
      this.#lists.set(shape, statement);
    }
    return statement;
  }

  #setUp(synchronous: "normal" | "full"): void {
    // WAL lets a commit append to the log instead of rewriting pages, and readers never block it.
    this.#db.pragma("journal_mode = WAL");
    // With WAL, synchronous=NORMAL writes each commit to the log with write() before COMMIT returns
    // but fsyncs only at checkpoints. After a process crash (kill -9, OOM) the committed frames are
    // still in the OS page cache and reach the file, so an acknowledged write is never lost; only a
    // power cut or kernel crash can drop the last commits (without corrupting the file). FULL adds
    // an fsync per commit for those cases.
    this.#db.pragma(`synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`);
    this.#migrate();
  }

  #migrate(): void {
    const version = this.#db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new PartyhouseError(
        "PH_ERR_STORAGE_IO",
        `The storage database was written by a newer partyhouse (schema ${version}, this one ` +
          `knows ${SCHEMA_VERSION}); upgrade partyhouse or point it at another state directory.`,
      );
    }
    this.#db.exec(SCHEMA);
    this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }
}
