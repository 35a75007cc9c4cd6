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

/** One room as the admin listener lists it. */
export interface RoomSummary {
  party: string;
  room: string;
  /** "live": has an instance; "hibernated": sockets without an instance; "idle": neither yet. */
  state: "live" | "hibernated" | "idle";
  connections: number;
}

/** Every room of this process. */
export function listRooms(host: RoomHost): RoomSummary[] {
  const rooms = (host as unknown as { rooms: Map<string, RoomRuntime> }).rooms;
  return [...rooms.values()].map((rt) => ({
    party: rt.def.name,
    room: rt.id,
    state: rt.hasInstance ? "live" : rt.connections.size > 0 ? "hibernated" : "idle",
    connections: rt.connections.size,
  }));
}

/** One room in detail: its connections (id, uri, tags) and up to `maxKeys` storage keys. */
export async function describeRoom(
  host: RoomHost,
  party: string,
  room: string,
  maxKeys = 1000,
): Promise<{
  party: string;
  room: string;
  live: boolean;
  connections: Array<{ id: string; uri: string; tags: readonly string[] }>;
  keys: string[];
}> {
  const rt = host.peekRoom(party, room);
  const storage = rt ? rt.storage : host.shared.openStorage(party, room);
  const keys = [...(await storage.list({ limit: maxKeys })).keys()];
  const connections = rt
    ? [...rt.connections.values()].map((c) => ({ id: c.id, uri: c.uri, tags: c.tags }))
    : [];
  return { party, room, live: rt !== undefined, connections, keys };
}
