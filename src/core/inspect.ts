/**
 * A read-only view of what runs in this process: live rooms, their connections and instances.
 * Tests, benchmarks, health checks and metrics read this instead of the host's internals, so the
 * host can change shape (and rooms can move to other processes) without breaking them.
 */
import type { RoomHost } from "./host.js";
import type { RoomRuntime } from "./room-runtime.js";
import type { DurableStorage } from "./storage-api.js";

/** A snapshot of one live room. */
export interface RoomInfo {
  readonly party: string;
  readonly room: string;
  /** Ids of the open connections, in the order they joined. */
  readonly connections: readonly string[];
  /** False while a hibernating room's instance is dropped (its sockets stay open). */
  readonly instance: boolean;
  /** Whether the party hibernates; undefined until its first instance was built. */
  readonly hibernates: boolean | undefined;
}

/** One open connection of a live room. */
export interface ConnectionInfo {
  readonly id: string;
  readonly uri: string;
  readonly tags: readonly string[];
}

export interface Inspector {
  /** The configured party names, `main` first. */
  parties(): string[];
  /** Every live room of this process. */
  rooms(): RoomInfo[];
  /** One live room, or undefined if it is not live here (never takes a room on). */
  room(party: string, room: string): RoomInfo | undefined;
  /** The open connections of a live room (id, uri, tags), or undefined if it is not live here. */
  connections(party: string, room: string): ConnectionInfo[] | undefined;
  /** How many rooms are live here, and how many sockets they hold. */
  counts(): { rooms: number; connections: number; alarms: number };
  /**
   * A room's storage, reached through the same entrance as a request (the room is taken on if
   * needed): for tests and admin tools that check what a room stored.
   */
  storage(party: string, room: string): Promise<DurableStorage>;
}

function infoOf(rt: RoomRuntime): RoomInfo {
  return {
    party: rt.def.name,
    room: rt.id,
    connections: [...rt.connections.ids()],
    instance: rt.hasInstance,
    hibernates: rt.hibernates,
  };
}

export function createInspector(host: RoomHost): Inspector {
  return {
    parties: () => [...host.partyNames],
    rooms: () => [...host.liveRooms()].map(infoOf),
    connections(party, room) {
      const rt = host.peek(party, room);
      if (rt === undefined) return undefined;
      return [...rt.connections.values()].map((c) => ({ id: c.id, uri: c.uri, tags: c.tags }));
    },
    room(party, room) {
      const rt = host.peek(party, room);
      return rt === undefined ? undefined : infoOf(rt);
    },
    counts() {
      let connections = 0;
      let rooms = 0;
      for (const rt of host.liveRooms()) {
        rooms++;
        connections += rt.connections.size;
      }
      return { rooms, connections, alarms: host.alarms.size };
    },
    async storage(party, room) {
      return (await host.enter(party, room)).storage;
    },
  };
}
