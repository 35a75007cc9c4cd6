/**
 * What the ops layer reports about rooms, read through the host's inspection API (core/inspect.ts)
 * and nothing else, so the host can change shape without the metrics noticing.
 */
import type { Inspector } from "../../core/room/inspect.js";

/** Per party: rooms with an instance, rooms hibernating (sockets, no instance), connections. */
export interface PartyStats {
  live: number;
  hibernated: number;
  connections: number;
}

/** A snapshot of the rooms of this process, by party name. */
export function readHostStats(inspect: Inspector): Map<string, PartyStats> {
  const out = new Map<string, PartyStats>();
  for (const party of inspect.parties()) out.set(party, { live: 0, hibernated: 0, connections: 0 });
  for (const room of inspect.rooms()) {
    let stats = out.get(room.party);
    if (!stats) out.set(room.party, (stats = { live: 0, hibernated: 0, connections: 0 }));
    if (room.instance) stats.live++;
    else if (room.connections.length > 0) stats.hibernated++;
    stats.connections += room.connections.length;
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
export function listRooms(inspect: Inspector): RoomSummary[] {
  return inspect.rooms().map((r) => ({
    party: r.party,
    room: r.room,
    state: r.instance ? "live" : r.connections.length > 0 ? "hibernated" : "idle",
    connections: r.connections.length,
  }));
}

/**
 * One room in detail: its connections (id, uri, tags) and up to `maxKeys` storage keys. Reading
 * the keys of a room that is not live takes it on (it is evicted again when idle).
 */
export async function describeRoom(
  inspect: Inspector,
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
  const connections = inspect.connections(party, room);
  const storage = await inspect.storage(party, room);
  const keys = [...(await storage.list({ limit: maxKeys })).keys()];
  return {
    party,
    room,
    live: connections !== undefined,
    connections: connections ? [...connections] : [],
    keys,
  };
}
