/**
 * This node's row in `<prefix>nodes`: joined with a new incarnation, renewed every lease/4, left
 * as `dead` (or `draining`). The database's clock (`clock_timestamp()`) stamps every expiry, so
 * nodes whose clocks disagree still agree on who is live. Each successful renewal moves the
 * self-fence deadline (see self-fence.ts).
 */
import type postgres from "postgres";
import { errorMessage } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { TableNames } from "../storage/postgres-schema.js";
import { SelfFence } from "./self-fence.js";

export interface MembershipOptions {
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly log: Logger;
}

export type NodeStatus = "active" | "draining" | "dead";

export class Membership {
  #incarnation: number | undefined;
  #url: string | undefined;
  #leaving = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** When the renewal in flight was sent (monotonic ms), or undefined. */
  #renewing: number | undefined;
  /** The rejoin in flight: every renewal that finds the lease gone shares it. */
  #rejoining: Promise<void> | undefined;

  constructor(
    private readonly sql: postgres.Sql,
    private readonly t: TableNames,
    private readonly options: MembershipOptions,
    readonly fence: SelfFence,
  ) {}

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** Set once joined; bumped by every join of the same node id (a restart). */
  get incarnation(): number | undefined {
    return this.#incarnation;
  }

  /** Registers (or re-registers) this node at `url` as active and starts renewing. */
  async join(url: string): Promise<void> {
    this.#url = url;
    this.#leaving = false;
    const sentAt = SelfFence.now();
    const rows = await this.sql.unsafe<{ incarnation: number }[]>(
      `INSERT INTO ${this.t.nodes} AS n (id, incarnation, url, status, lease_expires)
       VALUES ($1, 1, $2, 'active', clock_timestamp() + $3::float8 * interval '1 millisecond')
       ON CONFLICT (id) DO UPDATE SET incarnation = n.incarnation + 1, url = EXCLUDED.url,
         status = 'active', lease_expires = EXCLUDED.lease_expires
       RETURNING incarnation::float8 AS incarnation`,
      [this.options.nodeId, url, this.options.leaseMs],
    );
    this.#incarnation = rows[0]!.incarnation;
    this.fence.renewed(sentAt);
    this.#start();
  }

  /** Stops renewing; the lease lapses by itself (and the self-fence closes the rooms first). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops renewing and marks the node `status` at once, so its rooms can be claimed now. */
  async leave(status: NodeStatus = "dead"): Promise<void> {
    this.#leaving = true;
    this.stop();
    this.fence.stop();
    if (this.#incarnation === undefined) return;
    await this.sql.unsafe(
      `UPDATE ${this.t.nodes} SET status = $3 WHERE id = $1 AND incarnation = $2::bigint`,
      [this.options.nodeId, this.#incarnation, status],
    );
  }

  /**
   * One renewal; true when the row was extended. Only a lease still live in the database is
   * extended: one that ran out (this node was paused or cut off) may already have been taken
   * over, so the node fences itself at once and rejoins under a new incarnation, and every room
   * it takes on again is claimed anew (a new epoch).
   */
  async renew(): Promise<boolean> {
    const incarnation = this.#incarnation;
    if (incarnation === undefined) return false;
    if (this.#rejoining !== undefined) return this.#rejoining.then(() => true);
    const sentAt = SelfFence.now();
    const rows = await this.sql.unsafe(
      `UPDATE ${this.t.nodes}
       SET lease_expires = clock_timestamp() + $3::float8 * interval '1 millisecond'
       WHERE id = $1 AND incarnation = $2::bigint AND status = 'active'
         AND lease_expires > clock_timestamp() RETURNING 1`,
      [this.options.nodeId, incarnation, this.options.leaseMs],
    );
    // An answer about an incarnation this node has already left behind (a renewal that hung
    // through a partition and came back after the rejoin) says nothing about the new one: acting
    // on it would fence the rejoined node and rejoin again, fencing it over and over.
    if (incarnation !== this.#incarnation) return true;
    if (rows.length > 0) {
      this.fence.renewed(sentAt);
      return true;
    }
    this.fence.lose("its lease ran out in the database (paused or cut off)");
    if (this.#leaving || this.#url === undefined) return false;
    if (this.#rejoining === undefined) {
      const url = this.#url;
      this.#rejoining = this.join(url)
        .then(() =>
          this.options.log.info(`node ${this.options.nodeId} rejoined the cluster`, {
            incarnation: this.#incarnation,
          }),
        )
        .finally(() => {
          this.#rejoining = undefined;
        });
    }
    await this.#rejoining;
    return true;
  }

  #start(): void {
    this.stop();
    const every = Math.max(1, Math.floor(this.options.leaseMs / 4));
    this.#timer = setInterval(() => {
      // A slow renewal is not piled onto, unless it hangs past a whole lease (a dead link the
      // pool has not noticed yet): then the next one goes out anyway.
      const now = SelfFence.now();
      if (this.#renewing !== undefined && now - this.#renewing < this.options.leaseMs) return;
      const mine = now;
      this.#renewing = mine;
      this.renew()
        .then((ok) => {
          if (!ok && !this.#leaving) {
            this.options.log.error(
              "PH_ERR_CLUSTER_UNAVAILABLE",
              `node ${this.options.nodeId} is no longer active in the cluster table; not renewing`,
            );
            this.stop();
          }
        })
        .catch((e: unknown) =>
          this.options.log.error(
            "PH_ERR_CLUSTER_UNAVAILABLE",
            `renewing the lease of node ${this.options.nodeId} failed: ${errorMessage(e)}`,
          ),
        )
        .finally(() => {
          if (this.#renewing === mine) this.#renewing = undefined;
        });
    }, every);
    (this.#timer as { unref?: () => void }).unref?.();
  }
}
