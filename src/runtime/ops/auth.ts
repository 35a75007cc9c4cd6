/**
 * Who may use the operator endpoints (`/__scheduled__`, `/__partyhouse/metrics`) in `start`: a
 * request carrying the configured bearer token, or, when no token is set, a client on this
 * machine that did not come through a proxy (no `X-Forwarded-For`: behind nginx on the same host
 * every request is from 127.0.0.1, so loopback alone proves nothing).
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when `req` may use an operator endpoint guarded by `token` (undefined: loopback only). */
export function isOperator(req: IncomingMessage, token: string | undefined): boolean {
  if (token) {
    const auth = req.headers.authorization ?? "";
    return auth.startsWith("Bearer ") && sameSecret(auth.slice(7).trim(), token);
  }
  const local = LOOPBACK.test(req.socket.remoteAddress ?? "");
  return local && req.headers["x-forwarded-for"] === undefined;
}
