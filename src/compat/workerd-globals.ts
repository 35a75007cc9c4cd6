/**
 * The workerd globals PartyKit-era libraries use, installed into this process when the first
 * party bundle loads (its banner imports this module): `WebSocketPair`, and a `Response` that
 * takes `status: 101` with `webSocket` (party.io answers every WebSocket upgrade that way).
 * Installing twice (two bundles, a reload) is a no-op.
 */
import { WebSocketPair } from "./websocket-pair.js";
import { workerdResponseClass } from "./workerd-response.js";

const kInstalled = Symbol.for("partyhouse.workerd-globals");

/** Installs the globals unless they are there; returns true when this call installed them. */
export function installWorkerdGlobals(target: typeof globalThis = globalThis): boolean {
  const g = target as unknown as Record<string | symbol, unknown>;
  if (g[kInstalled] === true) return false;
  g[kInstalled] = true;
  if (g["WebSocketPair"] === undefined) g["WebSocketPair"] = WebSocketPair;
  g["Response"] = workerdResponseClass(target.Response);
  return true;
}

installWorkerdGlobals();
