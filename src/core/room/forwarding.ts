/**
 * Forwarding: a request for a room another node owns is carried to that node, never redirected
 * (browsers and `ws` do not follow redirects on a WebSocket handshake). The core decides *that* a
 * request goes elsewhere; the adapter's `Forwarder` moves the bytes. Web-standard types only.
 *
 * One hop at most: a request that arrived from another node (`via: "node"`, its signature checked
 * by the adapter) is never forwarded again; this node answers 503 PH_ERR_NOT_OWNER instead, and the
 * sender re-resolves the owner and tries once more.
 */
import { PartyhouseError } from "../errors.js";
import type { RemoteLocation } from "../placement.js";
import type { RawSocket, SocketSink } from "../wire/socket.js";
import type { LiveRoom } from "./live-room.js";

/** Who sent a request: a client, or another node that forwarded it (signature verified). */
export type Via = "client" | "node";

/**
 * The owner answered "not the owner either" (or could not be reached) before anything reached the
 * client: safe to re-resolve the owner and retry.
 */
export const NOT_OWNER: unique symbol = Symbol("partyhouse.notOwner") as never;
export type NotOwner = typeof NOT_OWNER;

/** Response header carrying a PartyhouseError's code, so a forwarding node can tell 503s apart. */
export const ERROR_CODE_HEADER = "x-partyhouse-error";

/** Moves a request to the node at `url` (the owner's internal address). Supplied by the adapter. */
export interface Forwarder {
  /**
   * Re-issues an HTTP request to the owner. With `raw` (the adapter's native request) the adapter
   * may write the owner's answer itself and return "handled".
   */
  fetch(url: string, request: Request, raw?: unknown): Promise<Response | "handled" | NotOwner>;
  /** Re-issues a WebSocket upgrade; past the owner's 101 the adapter pipes bytes both ways. */
  upgrade(url: string, request: Request, raw: unknown): Promise<"handled" | NotOwner>;
  /**
   * A party stub's socket to a room owned elsewhere: opens a WebSocket to the owner and drives
   * `socket` (the stub's in-memory end) with what the owner sends; resolves with the sink that
   * carries what the stub sends, once the owner accepted.
   */
  connect(url: string, request: Request, socket: RawSocket): Promise<SocketSink | NotOwner>;
}

export function notOwnerError(party: string, room: string, url: string): PartyhouseError {
  return new PartyhouseError(
    "PH_ERR_NOT_OWNER",
    `room "${room}" of party "${party}" is owned by ${url}`,
    {
      status: 503,
    },
  );
}

function isRemote(at: LiveRoom | RemoteLocation): at is RemoteLocation {
  return (at as { kind?: unknown }).kind === "remote";
}

/**
 * The room here, or the answer of its owner. A request from a node, or one whose owner twice
 * answered "not owner", fails with 503 PH_ERR_NOT_OWNER (never a second hop).
 */
/** What forwarding needs of the room host (declared here, so this file does not import it). */
export interface ReachableHost {
  reach(
    party: string,
    room: string,
  ): LiveRoom | RemoteLocation | Promise<LiveRoom | RemoteLocation>;
  readonly forwarder: Forwarder | undefined;
  misplaced(party: string, room: string, url: string): void;
}

export async function enterOrForward<T>(
  host: ReachableHost,
  party: string,
  room: string,
  via: Via,
  send: (forwarder: Forwarder, url: string) => Promise<T | NotOwner>,
): Promise<{ room: LiveRoom } | { answer: T }> {
  let url = "";
  for (let attempt = 0; attempt < 2; attempt++) {
    const at = await host.reach(party, room);
    if (!isRemote(at)) return { room: at };
    url = at.url;
    const forwarder = host.forwarder;
    if (via === "node" || forwarder === undefined) break;
    const answer = await send(forwarder, url);
    if (answer !== NOT_OWNER) return { answer };
    host.misplaced(party, room, url);
  }
  throw notOwnerError(party, room, url);
}
