import { SessionAwareAdapter } from "socket.io-adapter";
import type { BroadcastOptions } from "socket.io-adapter";

type Timer = ReturnType<typeof setTimeout>;

/** The parent's private state this class expires (socket.io-adapter 2.5). */
interface SessionState {
  maxDisconnectionDuration: number;
  sessions: Map<string, { disconnectedAt: number }>;
  packets: Array<{ emittedAt: number }>;
}

/** How often expired sessions and packets are dropped: the parent's period. */
const SWEEP_MS = 60_000;

/**
 * socket.io's SessionAwareAdapter (connection state recovery) starts a cleanup interval in its
 * constructor and never stops it, not even in `close()`. A standalone server lives as long as its
 * process, so that is harmless there; a room's server is built and dropped many times, and every
 * leaked interval would keep a dead room's Socket.IO server in memory.
 *
 * This subclass stops that interval at once and expires sessions and packets with a timer that
 * only runs while there is something to expire, so an evicted room is garbage once its last
 * packet expires, and `close()` stops everything at once.
 */
export class RoomSessionAdapter extends SessionAwareAdapter {
  private sweeper: Timer | undefined;
  private closed = false;

  constructor(nsp: ConstructorParameters<typeof SessionAwareAdapter>[0]) {
    const started: Array<ReturnType<typeof setInterval>> = [];
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
    for (const timer of started) clearInterval(timer);
  }

  override persistSession(session: Parameters<SessionAwareAdapter["persistSession"]>[0]): void {
    super.persistSession(session);
    this.schedule();
  }

  override broadcast(packet: unknown, opts: BroadcastOptions): void {
    super.broadcast(packet, opts);
    this.schedule();
  }

  override close(): void {
    this.closed = true;
    if (this.sweeper !== undefined) clearTimeout(this.sweeper);
    this.sweeper = undefined;
    const state = this as unknown as SessionState;
    state.sessions.clear();
    state.packets.length = 0;
    super.close();
  }

  private schedule(): void {
    if (this.sweeper !== undefined || this.closed) return;
    const state = this as unknown as SessionState;
    if (state.sessions.size === 0 && state.packets.length === 0) return;
    this.sweeper = setTimeout(() => {
      this.sweeper = undefined;
      this.expire();
      this.schedule();
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  /** The parent's cleanup: drop sessions and packets older than maxDisconnectionDuration. */
  private expire(): void {
    const state = this as unknown as SessionState;
    const threshold = Date.now() - state.maxDisconnectionDuration;
    for (const [id, session] of state.sessions) {
      if (session.disconnectedAt < threshold) state.sessions.delete(id);
    }
    const keep = state.packets.findIndex((p) => p.emittedAt >= threshold);
    state.packets.splice(0, keep === -1 ? state.packets.length : keep);
  }
}
