/**
 * `partyhouse start` as a cluster node: with a PostgreSQL database (PARTYHOUSE_DATABASE_URL or
 * `--database`), every process on that database is a node of one cluster. Rooms are owned through
 * leases in the database (PostgresPlacement) and a request reaching a node that does not own its
 * room is forwarded to the owner, signed with the shared secret.
 *
 * | flag | variable | default |
 * | --- | --- | --- |
 * | `--node-url <url>` | `PARTYHOUSE_NODE_URL` | the listening URL (one machine) |
 * | `--cluster-secret <s>` | `PARTYHOUSE_CLUSTER_SECRET` | none: no forwarding (503 PH_ERR_NOT_OWNER); required with a node URL |
 * | `--lease-ms <ms>` | `PARTYHOUSE_LEASE_MS` | 10000 |
 */
import type { ServerFlags } from "../config/cli-args.js";
import { DEFAULT_LEASE_MS, PostgresPlacement } from "../cluster/postgres-placement.js";
import { PartyhouseError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { envMs } from "./server-flags.js";

/** What startPartyhouse and the drain need to make this process a node. */
export interface ClusterNode {
  readonly placement: PostgresPlacement;
  /** The address other nodes reach this node on; undefined: the listening URL. */
  readonly nodeUrl: string | undefined;
  readonly clusterSecret: string | undefined;
}

const env = (name: string): string | undefined => process.env[name] || undefined;

/**
 * The cluster settings of a process whose storage is `databaseUrl`. Throws PH_ERR_CONFIG before
 * anything starts when they do not fit together.
 */
export function clusterNode(
  databaseUrl: string,
  flags: ServerFlags,
  log: Logger,
  /** A worker of `--workers`: its slot's node id, and its own node URL (see workers/worker.ts). */
  worker?: { nodeId: string; nodeUrl?: string },
): ClusterNode {
  const nodeUrl = worker ? worker.nodeUrl : (flags.nodeUrl ?? env("PARTYHOUSE_NODE_URL"));
  const clusterSecret = flags.clusterSecret ?? env("PARTYHOUSE_CLUSTER_SECRET");
  if (nodeUrl !== undefined) {
    if (clusterSecret === undefined) {
      // A node reachable by others must check that a forwarded request comes from a node.
      throw new PartyhouseError(
        "PH_ERR_CONFIG",
        "PARTYHOUSE_NODE_URL (--node-url) is set but PARTYHOUSE_CLUSTER_SECRET is not; give every node of the cluster the same secret (e.g. `openssl rand -hex 32`).",
      );
    }
    checkNodeUrl(nodeUrl);
  }
  const leaseMs = flags.leaseMs ?? envMs("PARTYHOUSE_LEASE_MS", DEFAULT_LEASE_MS);
  const placement = new PostgresPlacement({
    databaseUrl,
    leaseMs,
    log,
    ...(worker ? { nodeId: worker.nodeId } : {}),
  });
  if (clusterSecret === undefined) {
    log.warn(
      "cluster node without PARTYHOUSE_CLUSTER_SECRET: requests for rooms another node owns get 503 PH_ERR_NOT_OWNER instead of being forwarded",
    );
  }
  return { placement, nodeUrl, clusterSecret };
}

function checkNodeUrl(text: string): void {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `PARTYHOUSE_NODE_URL (--node-url) must be an http:// or https:// URL other nodes reach this node on, e.g. http://10.0.0.5:1999; got "${text}".`,
    );
  }
}
