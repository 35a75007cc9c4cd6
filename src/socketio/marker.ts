/**
 * What start-up needs to know about a Socket.IO party without loading socket.io: the static marker
 * every class from `createServer` carries, and the engine path it listens on.
 */

/** Symbol.for, so a party bundled against its own copy of partyhouse is still recognised. */
export const SOCKETIO_PARTY: unique symbol = Symbol.for("partyhouse.socketio") as never;

/** The room that `/socket.io/` without `?partyId=` reaches. */
export const DEFAULT_SOCKETIO_ROOM = "default";

export interface SocketIOPartyInfo {
  /**
   * The Engine.IO path as standalone Socket.IO computes it (`path` without its trailing slash,
   * plus "/" unless `addTrailingSlash: false`): "/socket.io/" by default.
   */
  readonly enginePath: string;
  /** `path` without a trailing slash ("/socket.io"): client files are served under it. */
  readonly basePath: string;
}

/** The marker of a party class built with `createServer`, or undefined for any other export. */
export function socketIOInfo(exported: unknown): SocketIOPartyInfo | undefined {
  if (typeof exported !== "function") return undefined;
  const info = (exported as unknown as Record<symbol, unknown>)[SOCKETIO_PARTY];
  if (typeof info !== "object" || info === null) return undefined;
  const { enginePath, basePath } = info as Record<string, unknown>;
  return typeof enginePath === "string" && typeof basePath === "string"
    ? { enginePath, basePath }
    : undefined;
}

/** Engine.IO's own rule (`BaseServer._computePath`), so both forms of a URL match as standalone. */
export function socketIOPaths(
  path: string | undefined,
  addTrailingSlash: boolean | undefined,
): SocketIOPartyInfo {
  const basePath = (path || "/socket.io").replace(/\/$/, "");
  return { basePath, enginePath: addTrailingSlash === false ? basePath : `${basePath}/` };
}
