/**
 * A stable 64-hex-digit id for a room, shaped like a Durable Object id. Deterministic so that
 * `room.internalID` is the same across restarts and across nodes. FNV-1a over four seeds: not a
 * security boundary, only a name.
 */
export function internalIdFor(party: string, room: string): string {
  const input = `${party}\u0000${room}`;
  let out = "";
  for (let seed = 0; seed < 4; seed++) {
    let h1 = 0x811c9dc5 ^ seed;
    let h2 = 0x01000193 + seed * 0x9e3779b1;
    for (let i = 0; i < input.length; i++) {
      const c = input.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    out += (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
  }
  return out;
}
