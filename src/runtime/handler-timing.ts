/**
 * Times every call into party code (onStart, onConnect, onMessage, onClose, onError, onRequest,
 * onAlarm) from the call until it settles, for the handler latency histogram of the metrics. A
 * PartyDef wrapper, like fault isolation's: the core drives it as any party and never learns.
 */
import type { PartyDef, PartyInstance } from "../core/room/party-def.js";
import type { Connection, ConnectionContext, Room, WSMessage } from "../core/api/types.js";

/** Told of each handler call once it settled: seconds it took, and whether it threw. */
export type HandlerObserver = (
  party: string,
  handler: string,
  seconds: number,
  failed: boolean,
) => void;

export function timeHandlers(
  defs: Map<string, PartyDef>,
  observe: HandlerObserver,
): Map<string, PartyDef> {
  const out = new Map<string, PartyDef>();
  for (const [name, def] of defs) {
    out.set(name, {
      name: def.name,
      statics: def.statics,
      hasOnRequest: def.hasOnRequest,
      wantsRaw: def.wantsRaw,
      create: (room: Room) => new TimedInstance(def.create(room), def.name, observe),
    });
  }
  return out;
}

class TimedInstance implements PartyInstance {
  constructor(
    private readonly inner: PartyInstance,
    private readonly party: string,
    private readonly observe: HandlerObserver,
  ) {}

  get hibernate(): boolean {
    return this.inner.hibernate;
  }
  get raw(): PartyInstance["raw"] {
    return this.inner.raw;
  }
  isBusy(): boolean {
    return this.inner.isBusy();
  }
  dispose(): unknown {
    return this.inner.dispose();
  }
  getConnectionTags(conn: Connection, ctx: ConnectionContext): string[] | Promise<string[]> {
    return this.inner.getConnectionTags(conn, ctx);
  }

  /** Runs `fn`, reporting its duration when it returns or, for a promise, when that settles. */
  private timed<T>(handler: string, fn: () => T): T {
    const start = performance.now();
    const done = (failed: boolean) =>
      this.observe(this.party, handler, (performance.now() - start) / 1000, failed);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      done(true);
      throw e;
    }
    if (result instanceof Promise) {
      result.then(
        () => done(false),
        () => done(true),
      );
    } else done(false);
    return result;
  }

  onStart(): unknown {
    return this.timed("onStart", () => this.inner.onStart());
  }
  onConnect(conn: Connection, ctx: ConnectionContext): unknown {
    return this.timed("onConnect", () => this.inner.onConnect(conn, ctx));
  }
  onMessage(message: WSMessage, conn: Connection): unknown {
    return this.timed("onMessage", () => this.inner.onMessage(message, conn));
  }
  onClose(conn: Connection): unknown {
    return this.timed("onClose", () => this.inner.onClose(conn));
  }
  onError(conn: Connection, err: Error): unknown {
    return this.timed("onError", () => this.inner.onError(conn, err));
  }
  onRequest(req: Request): Response | Promise<Response> {
    return this.timed("onRequest", () => this.inner.onRequest(req));
  }
  onAlarm(): unknown {
    return this.timed("onAlarm", () => this.inner.onAlarm());
  }
}
