import type { StatePolicy } from "./connection.js";
import type { Limits } from "./limits.js";
import type { Logger } from "./log.js";
import type { DurableStorage, RoomStorageControl } from "./storage-api.js";
import type { AssetFetcher, Context, Parties } from "./types.js";

/** What every room of a host shares: limits, logger, env, stubs, storage and assets. */
export interface RoomShared {
  readonly limits: Readonly<Limits>;
  readonly log: Logger;
  readonly env: Record<string, unknown>;
  readonly parties: Parties;
  readonly assets: AssetFetcher;
  /** `room.context`: the same object for every room of the host. */
  readonly context: Context;
  openStorage(party: string, room: string): DurableStorage & RoomStorageControl;
  /** Serialized size of a value (v8 structured clone in Node); throws if it cannot be cloned. */
  measure(value: unknown): number;
  /** State handling of connections in ordinary rooms: kept as given, as PartyKit does. */
  readonly plainState: StatePolicy;
  /** In hibernating rooms: cloned and size-limited like Cloudflare attachments. */
  readonly hibernatingState: StatePolicy;
}
