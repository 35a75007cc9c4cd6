/**
 * The process-level safety net: one `unhandledRejection` and one `uncaughtException` listener for
 * the whole process, shared by every server in it. A fault is handed to the server whose room
 * scope was active (see scope.ts); one that no room can be blamed for is logged by every server
 * and the process goes on. Listeners are removed when the last server closes.
 */
import { roomScope } from "./scope.js";
import type { FaultKind, FaultOwner, RoomScope } from "./scope.js";

const owners = new Set<FaultOwner>();
const nativeQueueMicrotask = globalThis.queueMicrotask;

function report(kind: FaultKind, error: unknown, scope: RoomScope | undefined): void {
  if (scope !== undefined && owners.has(scope.owner)) {
    scope.owner.fault(scope, kind, error);
    return;
  }
  for (const owner of owners) owner.unattributed(kind, error);
}

function onUnhandledRejection(reason: unknown): void {
  report("unhandledRejection", reason, roomScope.getStore());
}

function onUncaughtException(error: unknown): void {
  report("uncaughtException", error, roomScope.getStore());
}

/**
 * A microtask callback that throws does so after Node has left its async context, so the store is
 * gone by the time `uncaughtException` runs. This wrapper remembers the scope it was queued in
 * and reports the throw itself; outside any room it is the native function's behaviour.
 */
function scopedQueueMicrotask(callback: VoidFunction): void {
  const scope = roomScope.getStore();
  if (scope === undefined) {
    nativeQueueMicrotask(callback);
    return;
  }
  nativeQueueMicrotask(() => {
    try {
      callback();
    } catch (e) {
      if (!owners.has(scope.owner)) throw e;
      report("uncaughtException", e, scope);
    }
  });
}

/** Registers a server; returns the function that unregisters it. */
export function installProcessHandlers(owner: FaultOwner): () => void {
  if (owners.size === 0) {
    process.on("unhandledRejection", onUnhandledRejection);
    process.on("uncaughtException", onUncaughtException);
    globalThis.queueMicrotask = scopedQueueMicrotask;
  }
  owners.add(owner);
  return () => {
    if (!owners.delete(owner) || owners.size > 0) return;
    process.off("unhandledRejection", onUnhandledRejection);
    process.off("uncaughtException", onUncaughtException);
    if (globalThis.queueMicrotask === scopedQueueMicrotask) {
      globalThis.queueMicrotask = nativeQueueMicrotask;
    }
  };
}
