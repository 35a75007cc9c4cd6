/**
 * Notices a handler that blocks the event loop: a timer that should fire every `intervalMs` and
 * fires much later means something ran synchronously that long. The culprit is taken to be the
 * room whose request or socket event was entered last before the stall (the entry points record
 * it), which is exact for a handler that blocks without awaiting.
 */
import type { RoomContext } from "./context.js";

export interface WatchdogOptions {
  /** A stall longer than this is reported (ms). */
  thresholdMs: number;
  /** The room entered last, if any. */
  lastEntered(): RoomContext | undefined;
  onBlocked(blockedMs: number, context: RoomContext | undefined): void;
  intervalMs?: number;
}

/** Starts the watchdog; the timer never keeps the process alive. Returns the stop function. */
export function startWatchdog(options: WatchdogOptions): () => void {
  const interval = options.intervalMs ?? 100;
  let expected = performance.now() + interval;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - expected;
    expected = now + interval;
    if (late > options.thresholdMs) options.onBlocked(Math.round(late), options.lastEntered());
  }, interval);
  timer.unref();
  return () => clearInterval(timer);
}
