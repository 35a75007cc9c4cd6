/**
 * `partyhouse/raw`: the contract for parties that take their room's raw transport, as
 * `partyhouse/socket.io` does. Most parties never need it: PartyKit's `onConnect`/`onMessage`/
 * `onRequest` are the API. A raw party receives Node's own request objects for every HTTP request
 * and upgrade of its room, after the party's `onBeforeRequest`/`onBeforeConnect` let them through.
 *
 * @example
 * import { RAW_HANDLER, RAW_ROUTE } from "partyhouse/raw";
 * import type { RawRequest, RawUpgrade } from "partyhouse/raw";
 *
 * export default class Raw {
 *   static readonly [RAW_HANDLER] = true;
 *   // Also reachable at /raw/<room>, outside /parties/:party/:room.
 *   static [RAW_ROUTE](pathname: string) {
 *     return pathname.startsWith("/raw/") ? pathname.slice(5) || null : null;
 *   }
 *   [RAW_HANDLER](kind: "request" | "upgrade", raw: unknown) {
 *     if (kind === "request") (raw as RawRequest).res.end("hello from the raw side");
 *     else (raw as RawUpgrade).socket.destroy();
 *   }
 * }
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

export { BUSY, DISPOSE, RAW_HANDLER, RAW_ROUTE } from "./core/raw-contract.js";
export type { RawHandlerInstance, RawRoute } from "./core/raw-contract.js";

/** What a raw party receives for an HTTP request (Node's adapter). */
export interface RawRequest {
  req: IncomingMessage;
  res: ServerResponse;
}

/** What a raw party receives for a WebSocket upgrade (Node's adapter). */
export interface RawUpgrade {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
}
