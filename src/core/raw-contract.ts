/**
 * The raw-party contract: how a party that speaks a protocol of its own (Socket.IO's Engine.IO)
 * takes its room's raw transport instead of PartyKit's events. Public as `partyhouse/raw`; the
 * symbols are Symbol.for keys, so a party bundled with its own copy of partyhouse still matches.
 * A leaf: it imports nothing.
 */

/**
 * Static `true` on the party class; the instance method receives each HTTP request (`"request"`)
 * and upgrade (`"upgrade"`) of its room as the adapter's native objects.
 */
export const RAW_HANDLER: unique symbol = Symbol.for("partyhouse.rawHandler") as never;

/**
 * Instance method: true while it holds live resources the platform cannot see (its own sockets);
 * the room is then neither evicted nor hibernated.
 */
export const BUSY: unique symbol = Symbol.for("partyhouse.busy") as never;

/**
 * Instance method: the platform closes the room for good (shutdown, reload, eviction, reset);
 * close your own sockets and stop your timers.
 */
export const DISPOSE: unique symbol = Symbol.for("partyhouse.dispose") as never;

/**
 * Optional static method `(pathname, url) => roomId | null`: a route outside `/parties/…` that
 * reaches a room of this party (Socket.IO's `/socket.io/?partyId=`). Parties are asked `main`
 * first, then in config order; the first room id wins. The id is a raw path segment (still
 * percent-encoded), as in `/parties/:party/:room`.
 */
export const RAW_ROUTE: unique symbol = Symbol.for("partyhouse.rawRoute") as never;

export interface RawHandlerInstance {
  [RAW_HANDLER](kind: "request" | "upgrade", raw: unknown): void;
}

export type RawRoute = (pathname: string, url: string) => string | null;
