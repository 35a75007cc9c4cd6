import { noopAnalytics } from "./analytics.js";
import { internalIdFor } from "./internal-id.js";
import type { RoomRuntime } from "./room-runtime.js";
import type { Connection, Room } from "./types.js";

/** Builds the `Party.Room` object user code receives, backed by a RoomRuntime. */
export function createRoomFacade(rt: RoomRuntime): Room {
  const shared = rt.shared;
  const context = {
    parties: shared.parties,
    assets: shared.assets,
    ai: {},
    vectorize: {},
    bindings: { r2: {}, kv: {} },
  };
  let internalID: string | undefined;
  const room: Room = {
    id: rt.id,
    get internalID() {
      internalID ??= internalIdFor(rt.def.name, rt.id);
      return internalID;
    },
    name: rt.def.name,
    env: shared.env,
    storage: rt.storage,
    context,
    analytics: noopAnalytics,
    get connections() {
      const map = new Map<string, Connection>();
      for (const c of rt.getConnections()) map.set(c.id, c);
      return map;
    },
    get parties() {
      return shared.parties;
    },
    blockConcurrencyWhile: (fn) => rt.blockConcurrencyWhile(fn),
    broadcast: (msg, without) => rt.broadcast(msg, without),
    getConnection: <T>(id: string) => rt.getConnection(id) as Connection<T> | undefined,
    getConnections: <T>(tag?: string) => rt.getConnections(tag) as Iterable<Connection<T>>,
  };
  return room;
}
