/**
 * The workerd globals PartyKit-era libraries use: `WebSocketPair`, and a `Response` that takes
 * `status: 101` with `webSocket` (party.io answers every WebSocket upgrade that way).
 */
import { WebSocketPair } from "./websocket-pair.js";
import { workerdResponseClass } from "./workerd-response.js";

const kInstalled = Symbol.for("partyhouse.workerd-globals");

/**
 * Installs the globals into `target` unless they are there (two bundles, a reload, two copies
 * of partyhouse). Returns true when this call installed them.
 *
 * @example
 * import { installWorkerdGlobals, startPartyhouse } from "partyhouse";
 * installWorkerdGlobals();
 * const ph = await startPartyhouse({ parties: { main: PartyUsingWebSocketPair } });
 */
export function installWorkerdGlobals(target: typeof globalThis = globalThis): boolean {
  const g = target as unknown as Record<string | symbol, unknown>;
  if (g[kInstalled] === true) return false;
  g[kInstalled] = true;
  if (g["WebSocketPair"] === undefined) g["WebSocketPair"] = WebSocketPair;
  g["Response"] = workerdResponseClass(target.Response);
  return true;
}
