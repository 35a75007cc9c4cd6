/**
 * The write half of the SQLite driver: one connection's prepared statements and the transaction
 * that applies a batch. The driver's own connection runs it for small commits; the writer thread
 * (sqlite-writer-thread.ts) runs it on a connection of its own for large ones, so both apply a
 * batch the same way.
 */
import type Database from "better-sqlite3";
import { PartyhouseError } from "../core/errors.js";
import type { RoomRef } from "../core/api/storage-api.js";
import type { Batch, Entry } from "./driver.js";
import { CLUSTER_SCHEMA, FENCE_EPOCH_SQL } from "./sqlite-cluster-schema.js";

/** Rows per multi-row upsert; SQLite allows 32,766 parameters, 2 per row here. */
const PUT_CHUNK = 64;
const UPSERT = " ON CONFLICT (party, room, key) DO UPDATE SET value = excluded.value";

/** The room of a statement, bound once by name however many rows it writes. */
interface Room {
  party: string;
  room: string;
}

export class SqliteWriter {
  readonly #db: Database.Database;
  readonly #put: Database.Statement<[Room, string, Uint8Array]>;
  readonly #putChunk: Database.Statement<unknown[]>;
  readonly #deleteOne: Database.Statement<[string, string, string]>;
  readonly #deleteRoom: Database.Statement<[string, string]>;
  readonly #setAlarm: Database.Statement<[string, string, number]>;
  readonly #clearAlarm: Database.Statement<[string, string]>;
  readonly #commit: Database.Transaction<(ref: RoomRef, batch: Batch) => void>;
  #fenceEpoch: Database.Statement<[string, string], number> | undefined;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#put = db.prepare(
      `INSERT INTO kv (party, room, key, value) VALUES (@party, @room, ?, ?)${UPSERT}`,
    );
    // Party and room bound once by name, not once per row: a large commit spends much of its
    // time in better-sqlite3 converting parameters.
    this.#putChunk = db.prepare(
      "INSERT INTO kv (party, room, key, value) VALUES " +
        Array.from({ length: PUT_CHUNK }, () => "(@party, @room, ?, ?)").join(", ") +
        UPSERT,
    );
    this.#deleteOne = db.prepare("DELETE FROM kv WHERE party = ? AND room = ? AND key = ?");
    this.#deleteRoom = db.prepare("DELETE FROM kv WHERE party = ? AND room = ?");
    this.#setAlarm = db.prepare(
      "INSERT INTO alarms (party, room, time) VALUES (?, ?, ?) " +
        "ON CONFLICT (party, room) DO UPDATE SET time = excluded.time",
    );
    this.#clearAlarm = db.prepare("DELETE FROM alarms WHERE party = ? AND room = ?");
    this.#commit = db.transaction((ref: RoomRef, batch: Batch) => this.#apply(ref, batch));
  }

  /** Applies `batch` in one transaction; durable when this returns. */
  commit(ref: RoomRef, batch: Batch): void {
    // A fenced commit reads the epoch, then writes: IMMEDIATE takes the write lock first, so no
    // other worker's claim can slip between the check and the data (and no deferred-lock upgrade
    // can fail with SQLITE_BUSY).
    if (batch.fence === undefined) this.#commit(ref, batch);
    else this.#commit.immediate(ref, batch);
  }

  #apply(ref: RoomRef, batch: Batch): void {
    const { party, room } = ref;
    if (batch.fence !== undefined) this.#checkFence(ref, batch.fence.epoch);
    if (batch.deleteAll) this.#deleteRoom.run(party, room);
    for (const key of batch.deletes) this.#deleteOne.run(party, room, key);
    this.#putAll({ party, room }, batch.puts);
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
  #putAll(room: Room, puts: readonly Entry[]): void {
    let i = 0;
    for (; i + PUT_CHUNK <= puts.length; i += PUT_CHUNK) {
      const params: unknown[] = [room];
      for (let j = i; j < i + PUT_CHUNK; j++) params.push(puts[j]![0], puts[j]![1]);
      this.#putChunk.run(...params);
    }
    for (; i < puts.length; i++) this.#put.run(room, puts[i]![0], puts[i]![1]);
  }
}
