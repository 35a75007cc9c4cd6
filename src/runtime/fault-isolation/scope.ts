/**
 * Which room is running: an AsyncLocalStorage entered around every call into party code, so a
 * fault that surfaces later (an unhandled rejection, a throw in a timer the handler started) can
 * be traced back to the room whose code caused it.
 *
 * Measured on Node 20 (pinned by test/hardening/als-semantics.test.ts): inside
 * `process.on("unhandledRejection")` the store is the one active where the rejected promise was
 * *created*; inside `process.on("uncaughtException")` it is the one of the callback that threw
 * (setTimeout, setImmediate, process.nextTick, an EventEmitter in such a callback), except for
 * `queueMicrotask`, whose callbacks throw after their context was left (see process-handlers.ts).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Room } from "../../core/api/types.js";

/** Where a fault of a room is reported. One per running server. */
export interface FaultOwner {
  /** A fault attributed to a room: log it, reset that room. */
  fault(scope: RoomScope, kind: FaultKind, error: unknown): void;
  /** A fault nobody can be blamed for: log it, keep going. */
  unattributed(kind: FaultKind, error: unknown): void;
}

export type FaultKind = "unhandledRejection" | "uncaughtException";

/** One instance of a room's code. `facade` names the exact room runtime (see RoomHost.resetRoom). */
export interface RoomScope {
  readonly party: string;
  readonly room: string;
  readonly facade: Room;
  readonly owner: FaultOwner;
}

export const roomScope = new AsyncLocalStorage<RoomScope>();
