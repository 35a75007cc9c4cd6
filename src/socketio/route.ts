/**
 * The default route of Socket.IO clients: `<path>/?partyId=<room>` (or `partyID`, as PartyKit's
 * Party.IO announcement spells it) reaches one room of the Socket.IO party; without a partyId, the
 * room "default". Rooms are also reachable explicitly at `/parties/:party/:room/<path>/`. Each
 * class from `createServer` declares this route as its `RAW_ROUTE` (partyhouse/raw); the platform
 * asks `main` first, so with several Socket.IO parties on one path, `main` (or the first) wins.
 */
import type { RawRoute } from "../raw-party.js";
import { DEFAULT_SOCKETIO_ROOM } from "./marker.js";
import type { SocketIOPartyInfo } from "./marker.js";

export function socketIORoute({ enginePath, basePath }: SocketIOPartyInfo): RawRoute {
  return (pathname, url) => {
    // Engine.IO's prefix check, plus the client files that live next to it (`/socket.io/socket.io.js`).
    if (!pathname.startsWith(enginePath) && !pathname.startsWith(`${basePath}/`)) return null;
    const { searchParams } = new URL(url);
    const id = searchParams.get("partyId") || searchParams.get("partyID");
    // A room id is the still-encoded path segment, so `?partyId=a b` is the room `/parties/x/a%20b`.
    return id ? encodeURIComponent(id) : DEFAULT_SOCKETIO_ROOM;
  };
}
