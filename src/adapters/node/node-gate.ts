import type { IncomingMessage } from "node:http";
import type { Logger } from "../../core/log.js";
import { checkNodeHeaders } from "./node-auth.js";

/**
 * The server's check of every request for node headers: undefined for a client's request, the
 * origin the client used for a verified node's, or the 403 for a claim that does not verify.
 */
export function checkNodeOrigin(
  req: IncomingMessage,
  secret: string | undefined,
  log: Logger,
): string | undefined | Response {
  const check = checkNodeHeaders(secret, req.method ?? "GET", req.url ?? "/", req.headers);
  if (check.kind === "client") return undefined;
  if (check.kind === "node") return check.origin;
  log.error(
    "PH_ERR_NODE_AUTH",
    `${req.method} ${req.url} from ${req.socket.remoteAddress}: claims to come from a node, ${check.reason}`,
  );
  return new Response(
    `Forbidden: this request claims to come from another node but ${check.reason} (PH_ERR_NODE_AUTH); every node needs the same PARTYHOUSE_CLUSTER_SECRET`,
    { status: 403, headers: { "x-partyhouse-error": "PH_ERR_NODE_AUTH" } },
  );
}
