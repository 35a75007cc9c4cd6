/**
 * One worker of `partyhouse start --workers N` (see supervisor.ts): a cluster node of its own. On
 * the shared SQLite file its placement is `SqlitePlacement`; on PostgreSQL, `PostgresPlacement`.
 * Either way it also listens on a private node port, since the main port is shared by all workers
 * and a forwarded request must reach this very process.
 */
import cluster from "node:cluster";
import type { ServerFlags } from "../../config/cli-args.js";
import type { PersistConfig } from "../../config/types.js";
import { DEFAULT_LEASE_MS } from "../../cluster/postgres-placement.js";
import { SqlitePlacement } from "../../cluster/sqlite-placement.js";
import type { PostgresPlacement } from "../../cluster/postgres-placement.js";
import { PartyhouseError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { clusterNode } from "../cluster-node.js";
import { envMs } from "../server-flags.js";
import { isToWorker, WORKER_ENV } from "./messages.js";
import type { FromWorker, WorkerStore } from "./messages.js";

export interface WorkerRole {
  readonly slot: number;
  readonly count: number;
  readonly nodeId: string;
  /** The lock of the state folder is held in this pid's name (state-lock.ts). */
  readonly supervisorPid: number;
}

/** This process's place under a supervisor, or undefined when it runs on its own. */
export function workerRole(): WorkerRole | undefined {
  const slot = process.env[WORKER_ENV.slot];
  if (!cluster.isWorker || slot === undefined) return undefined;
  return {
    slot: Number(slot),
    count: Number(process.env[WORKER_ENV.count]),
    nodeId: process.env[WORKER_ENV.nodeId]!,
    supervisorPid: Number(process.env[WORKER_ENV.supervisor]),
  };
}

export interface WorkerNode {
  readonly placement: SqlitePlacement | PostgresPlacement;
  /** The private listener `startPartyhouse` opens (`nodeListener`). */
  readonly listener: { port: number; host: string };
  /** The address other nodes forward to; undefined: the private listener's own URL. */
  readonly nodeUrl: string | undefined;
  readonly clusterSecret: string;
}

/**
 * The placement and node port of this worker. With PARTYHOUSE_NODE_URL (workers of a machine in a
 * multi-machine cluster), worker i listens for other nodes on that URL's port + 1 + i; without
 * it, on a free port of 127.0.0.1 (only the workers of this machine reach it).
 */
export function workerNode(
  role: WorkerRole,
  persist: PersistConfig,
  flags: ServerFlags,
  bindHost: string,
  log: Logger,
): WorkerNode {
  const clusterSecret = process.env["PARTYHOUSE_CLUSTER_SECRET"]!;
  if (flags.https || flags.httpsKeyPath !== undefined) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      "--workers does not serve TLS itself (workers forward to each other over plain HTTP on their node ports); terminate TLS at a reverse proxy (README: Deploying)",
    );
  }
  if (persist.kind === "memory" && role.count > 1) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      "--workers needs storage the workers share: the SQLite state folder (the default) or PostgreSQL (--database); --no-persist keeps each worker's rooms in its own memory",
    );
  }
  if (persist.kind === "postgres") {
    const explicit = flags.nodeUrl ?? (process.env["PARTYHOUSE_NODE_URL"] || undefined);
    const own = explicit === undefined ? undefined : new URL(explicit);
    if (own !== undefined) own.port = String(Number(own.port || 80) + 1 + role.slot);
    const node = clusterNode(persist.url, { ...flags, clusterSecret }, log, {
      nodeId: role.nodeId,
      ...(own ? { nodeUrl: own.origin } : {}),
    });
    return {
      placement: node.placement,
      listener: own ? { host: bindHost, port: Number(own.port) } : { host: "127.0.0.1", port: 0 },
      nodeUrl: own?.origin,
      clusterSecret,
    };
  }
  const path = persist.kind === "sqlite" ? persist.path : ":memory:";
  const leaseMs = flags.leaseMs ?? envMs("PARTYHOUSE_LEASE_MS", DEFAULT_LEASE_MS);
  return {
    placement: new SqlitePlacement({ path, nodeId: role.nodeId, leaseMs, log }),
    listener: { host: "127.0.0.1", port: 0 },
    nodeUrl: undefined,
    clusterSecret,
  };
}

/**
 * Tells the supervisor this worker serves, answers its heartbeats, and drains (as on SIGTERM)
 * if the supervisor goes away: a worker without one would never be restarted or re-homed.
 */
export function reportToSupervisor(
  ready: { nodeId: string; url: string; nodeUrl: string; persist: PersistConfig },
  stop: (why: string) => void,
): void {
  const store: WorkerStore =
    ready.persist.kind === "postgres"
      ? { kind: "postgres", url: ready.persist.url }
      : ready.persist.kind === "sqlite"
        ? { kind: "sqlite", path: ready.persist.path }
        : { kind: "memory" };
  const send = (m: FromWorker) => {
    if (process.connected) process.send!(m);
  };
  process.on("message", (m: unknown) => {
    if (isToWorker(m)) send({ ph: "pong", seq: m.seq });
  });
  process.once("disconnect", () => stop("the supervisor is gone"));
  send({ ph: "ready", nodeId: ready.nodeId, url: ready.url, nodeUrl: ready.nodeUrl, store });
}
