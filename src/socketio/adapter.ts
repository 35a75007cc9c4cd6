import { SessionAwareAdapter } from "socket.io-adapter";
import type { Namespace } from "socket.io";

/**
 * socket.io's SessionAwareAdapter (connection state recovery) starts a cleanup interval in its
 * constructor and never stops it, not even in `close()`. A standalone server lives as long as its
 * process, so that is harmless there; a room is built and dropped many times, and each leaked
 * interval would keep a dead room's server in memory. This subclass notes the interval the parent
 * constructor starts, so `close()` (called by `io.close()` when the room is disposed) can stop it.
 */
export class RoomSessionAdapter extends SessionAwareAdapter {
  private readonly timers: ReturnType<typeof setInterval>[];

  constructor(nsp: Namespace) {
    const started: ReturnType<typeof setInterval>[] = [];
    const realSetInterval = globalThis.setInterval;
    // Synchronous and restored before anything else can run: only the parent constructor sees it.
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
      const timer = realSetInterval(...args);
      started.push(timer);
      return timer;
    }) as typeof setInterval;
    try {
      super(nsp);
    } finally {
      globalThis.setInterval = realSetInterval;
    }
    this.timers = started;
  }

  override close(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    super.close();
  }
}
