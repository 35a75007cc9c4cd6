/**
 * Room ownership in PostgreSQL: the `Placement` of a cluster node (see CLUSTER.md in the design
 * notes). A room is owned through the `<prefix>rooms` row; a claim bumps its epoch, and every
 * storage commit of the room checks that epoch in the same statement as its data (the fencing
 * token, see `commitStatement`), so a stale owner can never write. This node serves its rooms only
 * while its own lease is certainly live (the self-fence, see self-fence.ts).
 *
 * @example
 * const placement = new PostgresPlacement({ databaseUrl: process.env.DATABASE_URL! });
 * const ph = await startPartyhouse({ parties, storage: { kind: "postgres", url }, placement });
 * await placement.join(ph.url); // the address other nodes forward to
 */
import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { PartyhouseError, errorMessage } from "../core/errors.js";
import { silentLogger } from "../core/log.js";
import type { Logger } from "../core/log.js";
import type { Placement, RoomLocation } from "../core/placement.js";
import type { AlarmRow, RoomRef } from "../core/api/storage-api.js";
import { migrate, tableNames } from "../storage/postgres-schema.js";
import type { TableNames } from "../storage/postgres-schema.js";
import { parsePostgresUrl, redactUrl } from "../storage/postgres-url.js";
import { Membership } from "./membership.js";
import type { NodeStatus } from "./membership.js";
import { SelfFence } from "./self-fence.js";

/** The ownership lease when none is given (ms); PARTYHOUSE_LEASE_MS sets it from the CLI. */
export const DEFAULT_LEASE_MS = 10_000;

export interface PostgresPlacementOptions {
  /** The cluster's database, the same one (and schema and prefix) as the rooms' storage. */
  databaseUrl: string;
  schema?: string;
  /** Default `partyhouse_`, as the storage driver's. */
  tablePrefix?: string;
  /** This node's id in `<prefix>nodes`. Default: a fresh UUID per process. */
  nodeId?: string;
  /** The ownership lease (ms), renewed every lease/4. Default 10,000. */
  leaseMs?: number;
  /**
   * How long before the lease could run out in the database this node stops serving (ms).
   * Default lease/5: covers clock-rate drift and closing the rooms.
   */
  fenceMarginMs?: number;
  log?: Logger;
}

const key = (ref: RoomRef) => `${ref.party}\u0000${ref.room}`;

export class PostgresPlacement implements Placement {
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly membership: Membership;
  readonly #sql: postgres.Sql;
  readonly #t: TableNames;
  readonly #where: string;
  readonly #log: Logger;
  /** Rooms this node claimed, with the epoch it claimed them under. */
  readonly #held = new Map<string, number>();
  /** One claim per room at a time: two roads into one room get the same epoch. */
  readonly #claims = new Map<string, Promise<RoomLocation>>();
  #joined: Promise<void> | undefined;
  #lost: ((reason: string) => void) | undefined;

  constructor(options: PostgresPlacementOptions) {
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    if (!Number.isInteger(leaseMs) || leaseMs < 100) {
      throw new PartyhouseError(
        "PH_ERR_CONFIG",
        `The lease (PARTYHOUSE_LEASE_MS) must be an integer of at least 100 ms, got ${String(leaseMs)}.`,
      );
    }
    this.leaseMs = leaseMs;
    this.nodeId = options.nodeId ?? randomUUID();
    this.#log = options.log ?? silentLogger;
    const parsed = parsePostgresUrl(options.databaseUrl);
    this.#where = redactUrl(options.databaseUrl);
    this.#t = tableNames(options.schema ?? parsed.schema, options.tablePrefix ?? "partyhouse_");
    // Its own small pool: renewals must not queue behind the rooms' commits.
    this.#sql = postgres(parsed.url, {
      ...(parsed.host !== undefined ? { host: parsed.host } : {}),
      max: 4,
      connect_timeout: Math.max(1, Math.ceil(leaseMs / 4000)),
      onnotice: () => {},
      connection: { application_name: "partyhouse-cluster" },
    });
    const fence = new SelfFence(leaseMs, options.fenceMarginMs ?? leaseMs / 5, (reason) => {
      this.#held.clear();
      this.#log.error("PH_ERR_CLUSTER_UNAVAILABLE", `node ${this.nodeId}: ${reason}`);
      this.#lost?.(reason);
    });
    this.membership = new Membership(
      this.#sql,
      this.#t,
      { nodeId: this.nodeId, leaseMs, log: this.#log },
      fence,
    );
  }

  /**
   * Creates or migrates the tables, registers this node at `url` (the address other nodes reach
   * its listener on) and starts renewing its lease. Rooms are located only once this resolves.
   */
  join(url: string): Promise<void> {
    this.#joined ??= (async () => {
      try {
        await migrate(this.#sql, this.#t, this.#where);
        await this.membership.join(url);
      } catch (e) {
        this.#joined = undefined; // a later join tries again
        throw this.#unavailable("joining the cluster", e);
      }
    })();
    return this.#joined;
  }

  serving(): boolean {
    return this.membership.fence.valid();
  }

  onLost(lost: (reason: string) => void): void {
    this.#lost = lost;
  }

  locate(ref: RoomRef): Promise<RoomLocation> {
    const k = key(ref);
    const running = this.#claims.get(k);
    if (running !== undefined) return running;
    const claim = this.#claim(ref).finally(() => this.#claims.delete(k));
    this.#claims.set(k, claim);
    return claim;
  }

  /** Gives the room up: owner NULL and a new epoch, only if this node still holds it. */
  async release(ref: RoomRef): Promise<void> {
    const k = key(ref);
    const epoch = this.#held.get(k);
    if (epoch === undefined) return;
    this.#held.delete(k);
    try {
      await this.#sql.unsafe(
        `UPDATE ${this.#t.rooms} SET owner = NULL, owner_incarnation = NULL, epoch = epoch + 1
         WHERE party = $1 AND room = $2 AND epoch = $3::bigint AND owner = $4`,
        [ref.party, ref.room, epoch, this.nodeId],
      );
    } catch (e) {
      // The lease lapses by itself; another node claims the room then.
      throw this.#unavailable(`releasing ${ref.party}/${ref.room}`, e);
    }
  }

  /**
   * The first node to insert the tick's row runs it; the others find it there. A node that is
   * not serving (its lease in doubt) claims nothing: a live node will. Rows older than a day are
   * swept by the same statement, so the table holds about one day of ticks.
   */
  async claimCronTick(name: string, tickMs: number): Promise<boolean> {
    if (this.#joined === undefined || !this.serving()) return false;
    await this.#joined;
    const { cronTicks } = this.#t;
    try {
      const rows = await this.#sql.unsafe(
        `WITH old AS (
           DELETE FROM ${cronTicks} WHERE name = $1 AND tick_ms < $2::bigint - 86400000
         ), mine AS (
           INSERT INTO ${cronTicks} (name, tick_ms, node) VALUES ($1, $2::bigint, $3)
           ON CONFLICT (name, tick_ms) DO NOTHING RETURNING 1
         ) SELECT 1 FROM mine`,
        [name, Math.floor(tickMs), this.nodeId],
      );
      return rows.length > 0;
    } catch (e) {
      throw this.#unavailable(`claiming the tick of cron "${name}"`, e);
    }
  }

  /**
   * The alarms this node runs next (see `Placement.claimDueAlarms`), in one statement: due alarm
   * rows of rooms that are unowned or whose owner is not live (dead, draining or past its lease)
   * are locked `FOR UPDATE SKIP LOCKED` (two sweeping nodes take disjoint rows), their rooms
   * claimed for this node (epoch + 1), and returned with the due alarms of rooms this node owns.
   * Before `join`, or while this node's own lease is not live, there are none.
   */
  async claimDueAlarms(until: number, limit: number): Promise<readonly AlarmRow[]> {
    if (this.#joined === undefined || !this.serving()) return [];
    await this.#joined;
    const incarnation = this.membership.incarnation!;
    let rows: { party: string; room: string; time: number; epoch: number; claimed: boolean }[];
    try {
      rows = await this.#sql.unsafe(this.#claimAlarmsSql(), [
        Math.ceil(until),
        limit,
        this.nodeId,
        incarnation,
      ]);
    } catch (e) {
      throw this.#unavailable("claiming due alarms", e);
    }
    for (const row of rows) {
      if (row.claimed) this.#held.set(key(row), row.epoch);
    }
    return rows.map(({ party, room, time }) => ({ party, room, time }));
  }

  #claimAlarmsSql(): string {
    const { rooms, nodes, alarms } = this.#t;
    const live = (n: string) => `${n}.status = 'active' AND ${n}.lease_expires > clock_timestamp()`;
    const mine = `r.owner = $3 AND r.owner_incarnation = $4::bigint`;
    return `WITH me AS (
        SELECT 1 FROM ${nodes} me WHERE me.id = $3 AND me.incarnation = $4::bigint AND ${live("me")}
      ), orphaned AS (
        SELECT a.party, a.room, a.scheduled_ms FROM ${alarms} a
          LEFT JOIN ${rooms} r ON r.party = a.party AND r.room = a.room
          LEFT JOIN ${nodes} n ON n.id = r.owner AND n.incarnation = r.owner_incarnation
        WHERE a.scheduled_ms < $1::bigint AND EXISTS (SELECT 1 FROM me)
          AND (r.owner IS NULL OR n.id IS NULL OR NOT (${live("n")}))
        ORDER BY a.scheduled_ms LIMIT $2::bigint
        FOR UPDATE OF a SKIP LOCKED
      ), claimed AS (
        INSERT INTO ${rooms} AS r (party, room, owner, owner_incarnation, epoch)
          SELECT party, room, $3, $4::bigint, 1 FROM orphaned
        ON CONFLICT (party, room) DO UPDATE
          SET owner = EXCLUDED.owner, owner_incarnation = EXCLUDED.owner_incarnation,
              epoch = r.epoch + 1
          WHERE r.owner IS NULL
             OR NOT EXISTS (SELECT 1 FROM ${nodes} n
                            WHERE n.id = r.owner AND n.incarnation = r.owner_incarnation AND ${live("n")})
        RETURNING r.party, r.room, r.epoch
      )
      SELECT c.party, c.room, o.scheduled_ms::float8 AS time, c.epoch::float8 AS epoch, true AS claimed
        FROM claimed c JOIN orphaned o ON o.party = c.party AND o.room = c.room
      UNION ALL
      SELECT a.party, a.room, a.scheduled_ms::float8 AS time, r.epoch::float8 AS epoch, false AS claimed
        FROM ${alarms} a JOIN ${rooms} r ON r.party = a.party AND r.room = a.room
        WHERE a.scheduled_ms < $1::bigint AND ${mine} AND EXISTS (SELECT 1 FROM me)
      LIMIT $2::bigint`;
  }

  /** The epoch this node holds `ref` under, if it does (inspection, tests). */
  heldEpoch(ref: RoomRef): number | undefined {
    return this.#held.get(key(ref));
  }

  /**
   * Leaves the cluster: stops renewing, marks the node `status` (default dead, so its rooms can
   * be claimed at once) and closes the pool. Call after the server closed (it released its rooms).
   */
  async close(status: NodeStatus = "dead"): Promise<void> {
    try {
      if (this.#joined !== undefined) await this.membership.leave(status);
    } finally {
      this.membership.stop();
      this.membership.fence.stop();
      await this.#sql.end({ timeout: 2 });
    }
  }

  async #claim(ref: RoomRef): Promise<RoomLocation> {
    if (this.#joined === undefined) {
      throw new PartyhouseError(
        "PH_ERR_CLUSTER_UNAVAILABLE",
        "this node has not joined the cluster yet (PostgresPlacement.join)",
        { status: 503 },
      );
    }
    await this.#joined;
    const incarnation = this.membership.incarnation!;
    // A claim and the owner lookup are two statements; an owner that lapses between them is
    // claimed on the next round.
    for (let round = 0; round < 3; round++) {
      if (!this.serving()) break;
      let claimed: { epoch: number }[];
      let owner: { url: string }[];
      try {
        claimed = await this.#sql.unsafe<{ epoch: number }[]>(this.#claimSql(), [
          ref.party,
          ref.room,
          this.nodeId,
          incarnation,
        ]);
        if (claimed[0] !== undefined) {
          const epoch = claimed[0].epoch;
          this.#held.set(key(ref), epoch);
          return { kind: "here", epoch };
        }
        owner = await this.#sql.unsafe<{ url: string }[]>(
          `SELECT n.url FROM ${this.#t.rooms} r JOIN ${this.#t.nodes} n
             ON n.id = r.owner AND n.incarnation = r.owner_incarnation
           WHERE r.party = $1 AND r.room = $2 AND n.id <> $3 AND n.status = 'active'
             AND n.lease_expires > clock_timestamp()`,
          [ref.party, ref.room, this.nodeId],
        );
      } catch (e) {
        throw this.#unavailable(`locating ${ref.party}/${ref.room}`, e);
      }
      if (owner[0] !== undefined) return { kind: "remote", url: owner[0].url };
    }
    throw new PartyhouseError(
      "PH_ERR_CLUSTER_UNAVAILABLE",
      `node ${this.nodeId} cannot claim ${ref.party}/${ref.room}: its own lease is not live`,
      { status: 503 },
    );
  }

  /**
   * Claims the room for this node unless a live node owns it: no row yet, no owner, this node
   * itself (a re-claim after a drop), or an owner whose lease ran out or that is draining or dead.
   * Only a node whose own lease is live may claim. Every claim bumps the epoch.
   */
  #claimSql(): string {
    const { rooms, nodes } = this.#t;
    const live = (n: string) => `${n}.status = 'active' AND ${n}.lease_expires > clock_timestamp()`;
    return `INSERT INTO ${rooms} AS r (party, room, owner, owner_incarnation, epoch)
      SELECT $1, $2, $3, $4::bigint, 1
      WHERE EXISTS (SELECT 1 FROM ${nodes} me
                    WHERE me.id = $3 AND me.incarnation = $4::bigint AND ${live("me")})
      ON CONFLICT (party, room) DO UPDATE
        SET owner = EXCLUDED.owner, owner_incarnation = EXCLUDED.owner_incarnation,
            epoch = r.epoch + 1
        WHERE r.owner IS NULL
           OR (r.owner = EXCLUDED.owner AND r.owner_incarnation = EXCLUDED.owner_incarnation)
           OR NOT EXISTS (SELECT 1 FROM ${nodes} n
                          WHERE n.id = r.owner AND n.incarnation = r.owner_incarnation AND ${live("n")})
      RETURNING r.epoch::float8 AS epoch`;
  }

  #unavailable(what: string, cause: unknown): PartyhouseError {
    if (cause instanceof PartyhouseError) return cause;
    return new PartyhouseError(
      "PH_ERR_CLUSTER_UNAVAILABLE",
      `${what} failed on ${this.#where}: ${errorMessage(cause)}`,
      { status: 503, cause },
    );
  }
}

/**
 * The supervisor's step when a worker of `--workers` exited: its node row is marked dead, so its
 * rooms can be claimed by another node now instead of after its lease.
 */
export async function markPostgresNodeDead(
  store: { url: string; schema?: string; tablePrefix?: string },
  nodeId: string,
): Promise<void> {
  const parsed = parsePostgresUrl(store.url);
  const t = tableNames(store.schema ?? parsed.schema, store.tablePrefix ?? "partyhouse_");
  const sql = postgres(parsed.url, {
    ...(parsed.host !== undefined ? { host: parsed.host } : {}),
    max: 1,
    connect_timeout: 5,
    onnotice: () => {},
    connection: { application_name: "partyhouse-supervisor" },
  });
  try {
    await sql.unsafe(`UPDATE ${t.nodes} SET status = 'dead' WHERE id = $1`, [nodeId]);
  } finally {
    await sql.end({ timeout: 2 });
  }
}
