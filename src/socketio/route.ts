/**
 * The default route of Socket.IO clients: `<path>/?partyId=<room>` (or `partyID`, as PartyKit's
 * Party.IO announcement spells it) reaches one room of the Socket.IO party; without a partyId, the
 * room "default". Rooms are also reachable explicitly at `/parties/:party/:room/<path>/`.
 */
import type { PartyRoute } from "../core/router.js";
import { DEFAULT_SOCKETIO_ROOM, socketIOInfo } from "./marker.js";

/**
 * Picks the party that answers `/socket.io/`: `main` when it was built with `createServer`, else
 * the first such party in config order. Returns null when there is none.
 */
export function socketIORoute(
  parties: Record<string, unknown>,
): ((pathname: string, url: string) => PartyRoute | null) | null {
  const names = Object.keys(parties);
  const party = ["main", ...names].find((name) => socketIOInfo(parties[name]) !== undefined);
  if (party === undefined) return null;
  const { enginePath, basePath } = socketIOInfo(parties[party])!;
  return (pathname, url) => {
    // Engine.IO's prefix check, plus the client files that live next to it (`/socket.io/socket.io.js`).
    if (!pathname.startsWith(enginePath) && !pathname.startsWith(`${basePath}/`)) return null;
    const { searchParams } = new URL(url);
    const id = searchParams.get("partyId") || searchParams.get("partyID");
    // A room id is the still-encoded path segment, so `?partyId=a b` is the room `/parties/x/a%20b`.
    return { party, room: id ? encodeURIComponent(id) : DEFAULT_SOCKETIO_ROOM };
  };
}
