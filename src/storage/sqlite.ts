/**
 * The default driver: one SQLite file for the whole server, every room's keys in one table.
 * better-sqlite3 is synchronous, so a commit finishes before `commit()` returns and the overlay
 * can resolve its promises without another trip through the event loop.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { PartyhouseError, errorMessage } from "../core/errors.js";
import type { AlarmQuery, AlarmRow, RoomRef } from "../core/api/storage-api.js";
import type { Batch, Entry, KeyRange, StorageDriver } from "./driver.js";
import { CLUSTER_SCHEMA, FENCE_EPOCH_SQL } from "./sqlite-cluster-schema.js";

export interface SqliteDriverOptions {
  /** The database file; its parent directories are created. `:memory:` works for tests. */
  path: string;
  /**
   * "normal" (default) survives any process crash; "full" also survives power loss and kernel
   * panics, at the cost of an fsync per commit.
   */
  synchronous?: "normal" | "full";
}

const SCHEMA_VERSION = 1;
/** Rows per multi-row upsert; SQLite allows 32,766 parameters, 4 per row. */
const PUT_CHUNK = 64;

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
  readonly #put: Database.Statement<[string, string, string, Uint8Array]>;
  readonly #deleteOne: Database.Statement<[string, string, string]>;
  readonly #deleteRoom: Database.Statement<[string, string]>;
  readonly #getAlarm: Database.Statement<[string, string], number>;
  readonly #setAlarm: Database.Statement<[string, string, number]>;
  readonly #clearAlarm: Database.Statement<[string, string]>;
  readonly #listAlarms: Database.Statement<[number, number], AlarmRow>;
  /** List statements by shape (bounds present, direction), prepared on first use. */
  readonly #lists = new Map<string, Database.Statement<unknown[], [string, Buffer]>>();
  readonly #commit: Database.Transaction<(ref: RoomRef, batch: Batch) => void>;
  #fenceEpoch: Database.Statement<[string, string], number> | undefined;
  #putChunk: Database.Statement<unknown[]> | undefined;

  constructor(options: SqliteDriverOptions) {
    try {
      if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
      // Workers of one machine share the file (--workers): wait for another's commit, do not fail.
      this.#db = new Database(options.path, { timeout: 5000 });
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
    this.#put = db.prepare(
      "INSERT INTO kv (party, room, key, value) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (party, room, key) DO UPDATE SET value = excluded.value",
    );
    this.#deleteOne = db.prepare("DELETE FROM kv WHERE party = ? AND room = ? AND key = ?");
    this.#deleteRoom = db.prepare("DELETE FROM kv WHERE party = ? AND room = ?");
    this.#getAlarm = db
      .prepare<[string, string], number>("SELECT time FROM alarms WHERE party = ? AND room = ?")
      .pluck();
    this.#setAlarm = db.prepare(
      "INSERT INTO alarms (party, room, time) VALUES (?, ?, ?) " +
        "ON CONFLICT (party, room) DO UPDATE SET time = excluded.time",
    );
    this.#clearAlarm = db.prepare("DELETE FROM alarms WHERE party = ? AND room = ?");
    this.#listAlarms = db.prepare(
      "SELECT party, room, time FROM alarms WHERE time < ? ORDER BY time LIMIT ?",
    );
    this.#commit = db.transaction((ref: RoomRef, batch: Batch) => this.#apply(ref, batch));
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

  commit(ref: RoomRef, batch: Batch): void {
    // A fenced commit reads the epoch, then writes: IMMEDIATE takes the write lock first, so no
    // other worker's claim can slip between the check and the data (and no deferred-lock upgrade
    // can fail with SQLITE_BUSY).
    if (batch.fence === undefined) this.#commit(ref, batch);
    else this.#commit.immediate(ref, batch);
  }

  listAlarms(query?: AlarmQuery): AlarmRow[] {
    // SQLite: a negative LIMIT means no limit.
    return this.#listAlarms.all(query?.until ?? Number.MAX_SAFE_INTEGER, query?.limit ?? -1);
  }

  close(): void {
    this.#db.close();
  }

  #apply(ref: RoomRef, batch: Batch): void {
    const { party, room } = ref;
    if (batch.fence !== undefined) this.#checkFence(ref, batch.fence.epoch);
    if (batch.deleteAll) this.#deleteRoom.run(party, room);
    for (const key of batch.deletes) this.#deleteOne.run(party, room, key);
    this.#putAll(party, room, batch.puts);
    if (batch.alarm === null) this.#clearAlarm.run(party, room);
    else if (batch.alarm !== undefined) this.#setAlarm.run(party, room, batch.alarm);
  }

  /** Fails with PH_ERR_FENCED, before anything changes, unless the room is still at `epoch`. */
  #checkFence(ref: RoomRef, epoch: number): void {
    if (this.#fenceEpoch === undefined) {
      this.#db.exec(CLUSTER_SCHEMA);
      this.#fenceEpoch = this.#db.prepare<[string, string], number>(FENCE_EPOCH_SQL).pluck();
    }
    const current = this.#fenceEpoch.get(ref.party, ref.room);
    if (current !== epoch) {
      throw new PartyhouseError(
        "PH_ERR_FENCED",
        `${ref.party}/${ref.room} is now at epoch ${String(current ?? "none")}, this worker ` +
          `holds ${epoch}; the commit changed nothing`,
      );
    }
  }

  /**
   * Upserts in statements of up to PUT_CHUNK rows: one statement per row spent most of a large
   * commit in better-sqlite3's per-call overhead.
   */
  #putAll(party: string, room: string, puts: readonly Entry[]): void {
    let i = 0;
    for (; i + PUT_CHUNK <= puts.length; i += PUT_CHUNK) {
      const params: unknown[] = [];
      for (let j = i; j < i + PUT_CHUNK; j++) params.push(party, room, puts[j]![0], puts[j]![1]);
      this.#putMany().run(...params);
    }
    for (; i < puts.length; i++) this.#put.run(party, room, puts[i]![0], puts[i]![1]);
  }

  #putMany(): Database.Statement<unknown[]> {
    return (this.#putChunk ??= this.#db.prepare(
      "INSERT INTO kv (party, room, key, value) VALUES " +
        Array.from({ length: PUT_CHUNK }, () => "(?, ?, ?, ?)").join(", ") +
        " ON CONFLICT (party, room, key) DO UPDATE SET value = excluded.value",
    ));
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
