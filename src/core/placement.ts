/**
 * Placement: who owns a room. Every road into a room (HTTP requests, WebSocket upgrades, raw
 * Socket.IO transports, party stubs, alarms) asks the placement before it touches the room, so a
 * distributed mode only has to answer this one question. Web-standard types only.
 *
 * In one process, `LocalPlacement` owns every room and the answer never changes. In a cluster, a
 * room is owned by one node at a time through a lease with a fencing epoch (see CLUSTER.md in the
 * design notes): `locate` claims an unowned room for this node or names the owner's address.
 */
import type { AlarmRow, RoomRef } from "./api/storage-api.js";

/**
 * This node owns the room under `epoch` (the fencing token every storage commit carries). Epoch 0
 * means no fencing: one process owns every room.
 */
export interface HereLocation {
  readonly kind: "here";
  readonly epoch: number;
}

/** Another node owns the room; requests for it are forwarded to `url` (one hop at most). */
export interface RemoteLocation {
  readonly kind: "remote";
  readonly url: string;
}

export type RoomLocation = HereLocation | RemoteLocation;

export interface Placement {
  /**
   * Where `ref` lives now. Called when a road reaches a room that is not live in this process;
   * a live room stays here until `release`. May claim the room (and so be asynchronous).
   */
  locate(ref: RoomRef): RoomLocation | Promise<RoomLocation>;
  /** This process dropped the room (evicted, reset, shut down); another node may claim it. */
  release(ref: RoomRef): void | Promise<void>;
  /**
   * Optional: the node at `url`, named by `locate` as the owner, answered that it is not (or could
   * not be reached). Drop any cached answer; after the first such answer `locate` is asked once more.
   */
  misplaced?(ref: RoomRef, url: string): void;
  /**
   * Self-fencing: false once this node may have lost its lease (a renewal did not succeed in
   * time), so another node may claim its rooms. The host checks it before every event enters a
   * room. Absent: always true.
   */
  serving?(): boolean;
  /**
   * Called once by the host with what to do when `serving()` turns false on its own (the lease
   * deadline passed): the host closes every room's sockets (1012) and drops its instances.
   */
  onLost?(lost: (reason: string) => void): void;
  /**
   * Optional (a cluster): the stored alarms due before `until` (epoch ms) that this node should
   * run, at most `limit`: those of rooms it owns, and those of rooms no live node owns, which it
   * claims for itself in the same step (so two nodes never both pick one). Absent: the host reads
   * every due alarm from storage, as one process owns every room.
   */
  claimDueAlarms?(until: number, limit: number): Promise<readonly AlarmRow[]>;
  /**
   * Optional (a cluster): true for the one node that is to run the tick of cron `name` scheduled
   * at `tickMs` (epoch ms); every other node that asks about the same tick gets false. Absent:
   * this process runs every tick, as one process (or one worker of a machine) is the only one.
   */
  claimCronTick?(name: string, tickMs: number): Promise<boolean>;
}

const HERE: HereLocation = Object.freeze({ kind: "here", epoch: 0 });

/** One process, every room: the only placement until the distributed mode. */
export class LocalPlacement implements Placement {
  locate(): HereLocation {
    return HERE;
  }
  release(): void {}
}
