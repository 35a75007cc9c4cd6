import type { SocketIOPartyInfo } from "./marker.js";

/** The files standalone Socket.IO serves next to its engine path (its own `CLIENT_FILES` list). */
const CLIENT_FILES = new Set([
  "socket.io.esm.min.js",
  "socket.io.esm.min.js.map",
  "socket.io.js",
  "socket.io.js.map",
  "socket.io.min.js",
  "socket.io.min.js.map",
  "socket.io.msgpack.min.js",
  "socket.io.msgpack.min.js.map",
]);

/** What a request to a Socket.IO room is for. */
export type LocalTarget = { kind: "engine" } | { kind: "client"; file: string } | { kind: "none" };

/**
 * Classifies a request URL (`req.url`: path and query) the way a standalone server attached to
 * an http.Server does, after removing the room prefix of the explicit form
 * (`/parties/:party/:room` or `/party/:room`), so `/socket.io/?partyId=x` and
 * `/parties/main/x/socket.io/` behave the same.
 */
export function classify(url: string, info: SocketIOPartyInfo): LocalTarget {
  const local = matches(url, info) ? url : stripRoomPrefix(url);
  if (local === null || !matches(local, info)) return { kind: "none" };
  if (local.startsWith(info.basePath)) {
    const file = local.substring(info.basePath.length + 1).split("?")[0] ?? "";
    if (CLIENT_FILES.has(file)) return { kind: "client", file };
  }
  return local.startsWith(info.enginePath) ? { kind: "engine" } : { kind: "none" };
}

function matches(url: string, info: SocketIOPartyInfo): boolean {
  return url.startsWith(info.enginePath) || url.startsWith(`${info.basePath}/`);
}

function stripRoomPrefix(url: string): string | null {
  let segments: number;
  if (url.startsWith("/parties/")) segments = 3;
  else if (url.startsWith("/party/")) segments = 2;
  else return null;
  const query = url.indexOf("?");
  const pathEnd = query === -1 ? url.length : query;
  let at = 0;
  for (let i = 0; i < segments; i++) {
    at = url.indexOf("/", at + 1);
    if (at === -1 || at >= pathEnd) return null;
  }
  return url.slice(at);
}
