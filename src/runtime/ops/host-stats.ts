/**
 * The one place the ops layer reads the room host's internals. When the host grows its own
 * inspection API, only this function changes.
 */
import type { RoomHost } from "../../core/host.js";
import type { RoomRuntime } from "../../core/room-runtime.js";

/** Per party: rooms with an instance, rooms hibernating (sockets, no instance), connections. */
export interface PartyStats {
  live: number;
  hibernated: number;
  connections: number;
}

/** A snapshot of the rooms of this process, by party name. */
export function readHostStats(host: RoomHost): Map<string, PartyStats> {
  const out = new Map<string, PartyStats>();
  for (const party of host.partyNames) out.set(party, { live: 0, hibernated: 0, connections: 0 });
  const rooms = (host as unknown as { rooms: Map<string, RoomRuntime> }).rooms;
  for (const rt of rooms.values()) {
    let stats = out.get(rt.def.name);
    if (!stats) out.set(rt.def.name, (stats = { live: 0, hibernated: 0, connections: 0 }));
    if (rt.hasInstance) stats.live++;
    else if (rt.connections.size > 0) stats.hibernated++;
    stats.connections += rt.connections.size;
  }
  return out;
}
