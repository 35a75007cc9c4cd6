import { noopAnalytics } from "./analytics.js";
import { internalIdFor } from "./internal-id.js";
import type { RoomShared } from "./room-shared.js";
import type { DurableStorage } from "./storage-api.js";
import type { AnalyticsLike, Connection, Context, Parties, Room, WSMessage } from "./types.js";

/**
 * What the facade needs of the room behind it (the RoomRuntime). Declared here, so the facade
 * does not import the runtime that creates it.
 */
export interface FacadeTarget {
  readonly id: string;
  readonly def: { readonly name: string };
  readonly shared: Pick<RoomShared, "env" | "context">;
  readonly storage: DurableStorage;
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
  broadcast(msg: WSMessage, without?: string[]): void;
  getConnection(id: string): Connection | undefined;
  getConnections(tag?: string): Iterable<Connection>;
}

/**
 * The `Party.Room` object user code receives, backed by a RoomRuntime. A class, so its methods
 * live once on the prototype: a host may keep tens of thousands of these.
 */
export class RoomFacade implements Room {
  constructor(private readonly rt: FacadeTarget) {}

  get id(): string {
    return this.rt.id;
  }
  get internalID(): string {
    return internalIdFor(this.rt.def.name, this.rt.id);
  }
  get name(): string {
    return this.rt.def.name;
  }
  get env(): Record<string, unknown> {
    return this.rt.shared.env;
  }
  get storage(): DurableStorage {
    return this.rt.storage;
  }
  get context(): Context {
    return this.rt.shared.context;
  }
  get analytics(): AnalyticsLike {
    return noopAnalytics;
  }
  /** @deprecated PartyKit keeps it: a Map of the open connections, built on each read. */
  get connections(): Map<string, Connection> {
    const map = new Map<string, Connection>();
    for (const c of this.rt.getConnections()) map.set(c.id, c);
    return map;
  }
  /** @deprecated use context.parties */
  get parties(): Parties {
    return this.rt.shared.context.parties;
  }
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T> {
    return this.rt.blockConcurrencyWhile(fn);
  }
  broadcast(msg: WSMessage, without?: string[]): void {
    this.rt.broadcast(msg, without);
  }
  getConnection<TState = unknown>(id: string): Connection<TState> | undefined {
    return this.rt.getConnection(id) as Connection<TState> | undefined;
  }
  getConnections<TState = unknown>(tag?: string): Iterable<Connection<TState>> {
    return this.rt.getConnections(tag) as Iterable<Connection<TState>>;
  }
}

/** Methods user code may pass around unbound (`const { broadcast } = room`) keep working. */
for (const name of [
  "blockConcurrencyWhile",
  "broadcast",
  "getConnection",
  "getConnections",
] as const) {
  const method = RoomFacade.prototype[name] as (...args: unknown[]) => unknown;
  Object.defineProperty(RoomFacade.prototype, name, {
    get(this: RoomFacade) {
      const bound = method.bind(this);
      Object.defineProperty(this, name, { value: bound, configurable: true, writable: true });
      return bound;
    },
    configurable: true,
  });
}
