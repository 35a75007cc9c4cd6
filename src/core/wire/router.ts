/** Where a URL path points: a party room, or nothing (assets, onFetch, onSocket, 404). */
export interface PartyRoute {
  party: string;
  room: string;
}

/**
 * PartyKit's URL scheme: `/parties/:party/:room[/*]` and the legacy `/party/:room` for `main`.
 * The room id is the raw path segment, still percent-encoded, exactly as PartyKit takes it; an
 * empty segment is not a room (the request falls through to assets and onFetch).
 */
export function matchPartyPath(pathname: string): PartyRoute | null {
  if (pathname.startsWith("/party/")) {
    const end = pathname.indexOf("/", 7);
    const room = end === -1 ? pathname.slice(7) : pathname.slice(7, end);
    return room === "" ? null : { party: "main", room };
  }
  if (pathname.startsWith("/parties/")) {
    const partyEnd = pathname.indexOf("/", 9);
    if (partyEnd === -1) return null;
    const party = pathname.slice(9, partyEnd);
    const roomEnd = pathname.indexOf("/", partyEnd + 1);
    const room =
      roomEnd === -1 ? pathname.slice(partyEnd + 1) : pathname.slice(partyEnd + 1, roomEnd);
    return room === "" ? null : { party, room };
  }
  return null;
}

/** The pathname of a URL string without building a URL object (the hot path for every request). */
export function pathnameOf(url: string): string {
  const scheme = url.indexOf("://");
  const start = scheme === -1 ? 0 : url.indexOf("/", scheme + 3);
  if (start === -1) return "/";
  let end = url.length;
  const q = url.indexOf("?", start);
  if (q !== -1) end = q;
  const h = url.indexOf("#", start);
  if (h !== -1 && h < end) end = h;
  return url.slice(start, end);
}
