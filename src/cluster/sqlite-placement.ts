/**
 * Room ownership in the embedded SQLite file: the `Placement` of `partyhouse start --workers N`
 * without a database. The worker processes of one machine share one storage file; each is a node
 * with the same rules as a PostgreSQL cluster (postgres-placement.ts): a node row with a lease, a
 * room row whose epoch goes up by one on every claim, and every storage commit of a room checking
 * that epoch inside its own transaction (the SQLite driver's `fence`). SQLite serializes writers
 * across processes, so a claim is one IMMEDIATE transaction.
 *
 * The machine's wall clock (`Date.now()`) stamps lease expiries: every worker reads the same
 * clock, so they agree on who is live. The self-fence still runs on each process's monotonic
 * clock (self-fence.ts). The supervisor, which sees a worker die, marks its row dead at once
 * (`markNodeDead`), so its rooms are re-homed without waiting for the lease.
 */
import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { PartyhouseError, errorMessage } from "../core/errors.js";
import { silentLogger } from "../core/log.js";
import type { Logger } from "../core/log.js";
import type { Placement, RoomLocation } from "../core/placement.js";
import type { AlarmRow, RoomRef } from "../core/api/storage-api.js";
import { CLUSTER_SCHEMA } from "../storage/sqlite-cluster-schema.js";
import { SelfFence } from "./self-fence.js";

export interface SqlitePlacementOptions {
  /** The storage file the workers share (the SQLite driver's path). */
  path: string;
  /** This node's id (the supervisor gives each worker slot one). Default: a fresh UUID. */
  nodeId?: string;
  /** The ownership lease (ms), renewed every lease/4. Default 10,000. */
  leaseMs?: number;
  log?: Logger;
}

const key = (ref: RoomRef) => `${ref.party}\u0000${ref.room}`;
const LIVE = (n: string) => `${n}.status = 'active' AND ${n}.lease_expires > @now`;

export class SqlitePlacement implements Placement {
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly fence: SelfFence;
  readonly #db: Database.Database;
  readonly #log: Logger;
  readonly #held = new Map<string, number>();
  #incarnation: number | undefined;
  #url: string | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lost: ((reason: string) => void) | undefined;
  #closed = false;
  readonly #claimTx: Database.Transaction<(ref: RoomRef) => RoomLocation>;
  readonly #alarmsTx: Database.Transaction<(until: number, limit: number) => AlarmRow[]>;

  constructor(options: SqlitePlacementOptions) {
    this.leaseMs = options.leaseMs ?? 10_000;
    if (!Number.isInteger(this.leaseMs) || this.leaseMs < 100) {
      throw new PartyhouseError(
        "PH_ERR_CONFIG",
        `The lease (PARTYHOUSE_LEASE_MS) must be an integer of at least 100 ms, got ${String(this.leaseMs)}.`,
      );
    }
    this.nodeId = options.nodeId ?? randomUUID();
    this.#log = options.log ?? silentLogger;
    this.#db = openClusterDatabase(options.path);
    this.#claimTx = this.#claimTransaction();
    this.#alarmsTx = this.#alarmsTransaction();
    this.fence = new SelfFence(this.leaseMs, this.leaseMs / 5, (reason) => {
      this.#held.clear();
      this.#log.error("PH_ERR_CLUSTER_UNAVAILABLE", `worker node ${this.nodeId}: ${reason}`);
      this.#lost?.(reason);
    });
  }

  /** Registers this node at `url` (a new incarnation) and starts renewing its lease. */
  join(url: string): Promise<void> {
    this.#url = url;
    const sentAt = SelfFence.now();
    const row = this.#db
      .prepare<{ id: string; url: string; now: number; lease: number }, { incarnation: number }>(
        `INSERT INTO cluster_nodes (id, incarnation, url, status, lease_expires)
         VALUES (@id, 1, @url, 'active', @now + @lease)
         ON CONFLICT (id) DO UPDATE SET incarnation = incarnation + 1, url = excluded.url,
           status = 'active', lease_expires = excluded.lease_expires
         RETURNING incarnation`,
      )
      .get({ id: this.nodeId, url, now: Date.now(), lease: this.leaseMs })!;
    this.#incarnation = row.incarnation;
    this.fence.renewed(sentAt);
    this.#startRenewing();
    return Promise.resolve();
  }

  serving(): boolean {
    return this.fence.valid();
  }

  onLost(lost: (reason: string) => void): void {
    this.#lost = lost;
  }

  locate(ref: RoomRef): RoomLocation {
    if (this.#incarnation === undefined || !this.serving()) {
      throw new PartyhouseError(
        "PH_ERR_CLUSTER_UNAVAILABLE",
        `worker node ${this.nodeId} cannot claim ${ref.party}/${ref.room}: its lease is not live`,
        { status: 503 },
      );
    }
    const found = this.#run(`locating ${ref.party}/${ref.room}`, () =>
      this.#claimTx.immediate(ref),
    );
    if (found.kind === "here") this.#held.set(key(ref), found.epoch);
    return found;
  }

  release(ref: RoomRef): void {
    const k = key(ref);
    const epoch = this.#held.get(k);
    if (epoch === undefined || this.#closed) return;
    this.#held.delete(k);
    this.#run(`releasing ${ref.party}/${ref.room}`, () =>
      this.#db
        .prepare(
          `UPDATE cluster_rooms SET owner = NULL, owner_incarnation = NULL, epoch = epoch + 1
           WHERE party = ? AND room = ? AND epoch = ? AND owner = ?`,
        )
        .run(ref.party, ref.room, epoch, this.nodeId),
    );
  }

  /** See `Placement.claimDueAlarms`: this node's due alarms, plus orphaned ones it claims. */
  claimDueAlarms(until: number, limit: number): Promise<readonly AlarmRow[]> {
    if (this.#incarnation === undefined || !this.serving()) return Promise.resolve([]);
    const rows = this.#run("claiming due alarms", () =>
      this.#alarmsTx.immediate(Math.ceil(until), limit),
    );
    return Promise.resolve(rows);
  }

  /** Stops renewing, as a paused process does; the self-fence then ends serving on its own. */
  stopRenewing(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  heldEpoch(ref: RoomRef): number | undefined {
    return this.#held.get(key(ref));
  }

  /** Stops renewing and marks this node `status` (dead by default: its rooms are free at once). */
  close(status: "dead" | "draining" = "dead"): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.fence.stop();
    try {
      if (this.#incarnation !== undefined) {
        this.#db
          .prepare("UPDATE cluster_nodes SET status = ? WHERE id = ? AND incarnation = ?")
          .run(status, this.nodeId, this.#incarnation);
      }
    } finally {
      this.#db.close();
    }
    return Promise.resolve();
  }

  /**
   * One claim, inside an IMMEDIATE transaction: this node takes the room unless a live node owns
   * it (no row, no owner, this very incarnation, or an owner that is dead, draining or past its
   * lease); every claim bumps the epoch. Otherwise it names the live owner's address.
   */
  #claimTransaction(): Database.Transaction<(ref: RoomRef) => RoomLocation> {
    const me = () => ({ id: this.nodeId, inc: this.#incarnation!, now: Date.now() });
    const selfLive = this.#lazy(
      () =>
        `SELECT 1 FROM cluster_nodes n WHERE n.id = @id AND n.incarnation = @inc AND ${LIVE("n")}`,
    );
    const owner = this.#lazy(
      () => `SELECT r.owner, r.owner_incarnation AS inc, r.epoch,
               (SELECT n.url FROM cluster_nodes n WHERE n.id = r.owner
                  AND n.incarnation = r.owner_incarnation AND ${LIVE("n")}) AS url
             FROM cluster_rooms r WHERE r.party = @party AND r.room = @room`,
    );
    const claim = this.#claimRoom;
    return this.#db.transaction((ref: RoomRef): RoomLocation => {
      const who = me();
      if (selfLive().get(who) === undefined) {
        throw new PartyhouseError(
          "PH_ERR_CLUSTER_UNAVAILABLE",
          `worker node ${this.nodeId} is not live in the cluster table`,
          { status: 503 },
        );
      }
      const args = { ...who, party: ref.party, room: ref.room };
      const row = owner().get(args) as
        { owner: string | null; inc: number | null; epoch: number; url: string | null } | undefined;
      const mine = row?.owner === this.nodeId && row.inc === who.inc;
      if (row !== undefined && row.url !== null && !mine) return { kind: "remote", url: row.url };
      // Asked again for a room it holds (two roads in before the room went live): same epoch.
      if (mine && this.#held.get(key(ref)) === row.epoch) return { kind: "here", epoch: row.epoch };
      const { epoch } = claim().get(args) as { epoch: number };
      return { kind: "here", epoch };
    });
  }

  /** Due alarms of rooms this node owns, and of orphaned rooms, which it claims in the same step. */
  #alarmsTransaction(): Database.Transaction<(until: number, limit: number) => AlarmRow[]> {
    const due = this.#lazy(
      () => `SELECT a.party, a.room, a.time, r.owner, r.owner_incarnation AS inc,
               (SELECT 1 FROM cluster_nodes n WHERE n.id = r.owner
                  AND n.incarnation = r.owner_incarnation AND ${LIVE("n")}) AS live
             FROM alarms a LEFT JOIN cluster_rooms r ON r.party = a.party AND r.room = a.room
             WHERE a.time < @until ORDER BY a.time LIMIT @limit`,
    );
    const claim = this.#claimRoom;
    return this.#db.transaction((until: number, limit: number): AlarmRow[] => {
      const now = Date.now();
      const inc = this.#incarnation!;
      const out: AlarmRow[] = [];
      const rows = due().all({ until, limit, now, id: this.nodeId, inc }) as Array<
        AlarmRow & { owner: string | null; inc: number | null; live: 1 | null }
      >;
      for (const row of rows) {
        const { party, room, time } = row;
        if (row.owner === this.nodeId && row.inc === inc) {
          out.push({ party, room, time });
        } else if (row.owner === null || row.live === null) {
          const { epoch } = claim().get({ party, room, id: this.nodeId, inc }) as { epoch: number };
          this.#held.set(key(row), epoch);
          out.push({ party, room, time });
        }
      }
      return out;
    });
  }

  #startRenewing(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#renew(), Math.max(1, Math.floor(this.leaseMs / 4)));
    this.#timer.unref();
  }

  /**
   * Extends the lease only while it is still live in the table: one that ran out (this process
   * was paused past it) may have been taken over, so the node fences itself and rejoins under a
   * new incarnation, claiming every room anew.
   */
  #renew(): void {
    if (this.#closed || this.#incarnation === undefined) return;
    const sentAt = SelfFence.now();
    try {
      const now = Date.now();
      const changed = this.#db
        .prepare(
          `UPDATE cluster_nodes SET lease_expires = @now + @lease
           WHERE id = @id AND incarnation = @inc AND status = 'active' AND lease_expires > @now`,
        )
        .run({ id: this.nodeId, inc: this.#incarnation, now, lease: this.leaseMs }).changes;
      if (changed > 0) {
        this.fence.renewed(sentAt);
        return;
      }
      this.fence.lose("its lease ran out in the cluster table (paused, or marked dead)");
      void this.join(this.#url!);
      this.#log.info(`worker node ${this.nodeId} rejoined`, { incarnation: this.#incarnation });
    } catch (e) {
      this.#log.error(
        "PH_ERR_CLUSTER_UNAVAILABLE",
        `renewing the lease of worker node ${this.nodeId} failed: ${errorMessage(e)}`,
      );
    }
  }

  /** Takes a room for this node (any row state; the caller decided it may): epoch + 1. */
  readonly #claimRoom = this.#lazy(
    () => `INSERT INTO cluster_rooms (party, room, owner, owner_incarnation, epoch)
           VALUES (@party, @room, @id, @inc, 1)
           ON CONFLICT (party, room) DO UPDATE SET owner = excluded.owner,
             owner_incarnation = excluded.owner_incarnation, epoch = epoch + 1
           RETURNING epoch`,
  );

  /** A statement prepared on first use (the constructor runs before the schema check). */
  #lazy(sql: () => string): () => Database.Statement {
    let statement: Database.Statement | undefined;
    return () => (statement ??= this.#db.prepare(sql()));
  }

  #run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof PartyhouseError) throw e;
      throw new PartyhouseError(
        "PH_ERR_CLUSTER_UNAVAILABLE",
        `${what} failed on the shared storage file: ${errorMessage(e)}`,
        { status: 503, cause: e },
      );
    }
  }
}

function openClusterDatabase(path: string): Database.Database {
  let db: Database.Database;
  try {
    // Writers of other workers hold the file's lock for a commit at a time: wait, do not fail.
    db = new Database(path, { timeout: 5000 });
    db.pragma("journal_mode = WAL");
    db.exec(CLUSTER_SCHEMA);
  } catch (e) {
    throw new PartyhouseError(
      "PH_ERR_STORAGE_IO",
      `Cannot open the cluster tables in ${path}: ${errorMessage(e)}`,
      { cause: e },
    );
  }
  return db;
}

/**
 * The supervisor's step when a worker process exited: its node row is marked dead, so every room
 * it owned can be claimed by another worker now instead of after the lease.
 */
export function markNodeDead(path: string, nodeId: string): void {
  const db = openClusterDatabase(path);
  try {
    db.prepare("UPDATE cluster_nodes SET status = 'dead' WHERE id = ?").run(nodeId);
  } finally {
    db.close();
  }
}
