/**
 * How a node proves that a request comes from another node of its cluster: three headers, the
 * last an HMAC-SHA256 (key PARTYHOUSE_CLUSTER_SECRET) over the method, the request target, the
 * origin the client used and a timestamp. A request carrying any of these headers is either
 * verified or refused with 403: a client can never pass itself off as a node (which would skip
 * onBeforeConnect/onBeforeRequest on the owner). A captured request replays for at most
 * MAX_SKEW_MS; node-to-node traffic belongs on a private network.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** Every header of the scheme starts with this; any of them marks a request as forwarded. */
export const NODE_HEADER_PREFIX = "x-partyhouse-node-";
const TS = "x-partyhouse-node-ts";
const ORIGIN = "x-partyhouse-node-origin";
const SIG = "x-partyhouse-node-sig";

/** How far a forwarded request's timestamp may be from this node's clock. */
export const MAX_SKEW_MS = 30_000;

export type NodeCheck =
  { kind: "client" } | { kind: "node"; origin: string } | { kind: "refused"; reason: string };

function mac(secret: string, method: string, target: string, origin: string, ts: string): Buffer {
  return createHmac("sha256", secret).update(`${method}\n${target}\n${origin}\n${ts}`).digest();
}

/** The headers that mark a request to `target` (path and query) as sent by this node. */
export function signNodeHeaders(
  secret: string,
  method: string,
  target: string,
  origin: string,
  now = Date.now(),
): Record<string, string> {
  const ts = String(now);
  return {
    [TS]: ts,
    [ORIGIN]: origin,
    [SIG]: mac(secret, method, target, origin, ts).toString("hex"),
  };
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

function hasNodeHeader(headers: IncomingHttpHeaders): boolean {
  for (const name in headers) if (name.startsWith(NODE_HEADER_PREFIX)) return true;
  return false;
}

/**
 * Whether a request came from a client or, verified, from a node; `secret` undefined means this
 * node is in no cluster, so every claim to be a node is refused.
 */
export function checkNodeHeaders(
  secret: string | undefined,
  method: string,
  target: string,
  headers: IncomingHttpHeaders,
  now = Date.now(),
): NodeCheck {
  if (!hasNodeHeader(headers)) return { kind: "client" };
  if (secret === undefined) {
    return { kind: "refused", reason: "this node has no cluster secret" };
  }
  const ts = one(headers[TS]);
  const origin = one(headers[ORIGIN]);
  const sig = one(headers[SIG]);
  if (ts === undefined || origin === undefined || sig === undefined) {
    return { kind: "refused", reason: "incomplete node headers" };
  }
  const time = Number(ts);
  if (!Number.isSafeInteger(time) || Math.abs(now - time) > MAX_SKEW_MS) {
    return { kind: "refused", reason: `stale or bad timestamp ${JSON.stringify(ts.slice(0, 20))}` };
  }
  const expected = mac(secret, method, target, origin, ts);
  const given = Buffer.from(sig, "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { kind: "refused", reason: "bad signature" };
  }
  if (!/^https?:\/\/[^/?#\s]+$/.test(origin)) return { kind: "refused", reason: "bad origin" };
  return { kind: "node", origin };
}
