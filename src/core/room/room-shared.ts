import type { StatePolicy } from "./connection.js";
import type { Limits } from "../limits.js";
import type { Logger } from "../log.js";
import type { DurableStorage, RoomStorageControl } from "../api/storage-api.js";
import type { AssetFetcher, Context, Parties } from "../api/types.js";

/** Which live room a reset is for (the host checks it is still the live one). */
export interface RoomIdentity {
  readonly def: { readonly name: string };
  readonly id: string;
}

/** What every room of a host shares: limits, logger, env, stubs, storage and assets. */
export interface RoomShared {
  readonly limits: Readonly<Limits>;
  readonly log: Logger;
  readonly env: Record<string, unknown>;
  readonly parties: Parties;
  readonly assets: AssetFetcher;
  /** `room.context`: the same object for every room of the host. */
  readonly context: Context;
  /** Opens a room's storage; `room` hears of async reads (input gate). */
  openStorage(
    party: string,
    room: string,
    rt: { onStorageRead(done: Promise<unknown>): void },
  ): DurableStorage & RoomStorageControl;
  /**
   * Resets a room after a failure it cannot recover from (a failed commit, a
   * blockConcurrencyWhile that never settled): its instance is dropped, its sockets closed with
   * 1011 and `reason`, held messages discarded; storage stays.
   */
  resetRoom(rt: RoomIdentity, error: unknown, reason: string): void;
  /**
   * Self-fencing (distributed mode): true once this node lost its lease; the host has then dropped
   * every room, and an event that still reaches one is not delivered. Absent in one process.
   */
  readonly lost?: () => boolean;
  /** Serialized size of a value (v8 structured clone in Node); throws if it cannot be cloned. */
  measure(value: unknown): number;
  /** State handling of connections in ordinary rooms: kept as given, as PartyKit does. */
  readonly plainState: StatePolicy;
  /** In hibernating rooms: cloned and size-limited like Cloudflare attachments. */
  readonly hibernatingState: StatePolicy;
}
