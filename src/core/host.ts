import { AlarmScheduler } from "./alarms.js";
import { CloseCode } from "./close-codes.js";
import { errorMessage, PartyhouseError } from "./errors.js";
import type { Limits } from "./limits.js";
import type { Logger } from "./log.js";
import type { PartyDef } from "./party-def.js";
import { RoomRuntime } from "./room-runtime.js";
import type { RoomShared } from "./room-shared.js";
import type { RawSocket, SocketSink } from "./socket.js";
import type { StorageProvider } from "./storage-api.js";
import { createParties } from "./stubs.js";
import type { StubTarget } from "./stubs.js";
import type { AssetFetcher, Parties, Room } from "./types.js";

export interface HostOptions {
  /** Every party by name; `main` must be present. */
  parties: ReadonlyMap<string, PartyDef>;
  storage: StorageProvider;
  limits: Readonly<Limits>;
  log: Logger;
  env: Record<string, unknown>;
  /** `room.context.assets.fetch(path)`; answers null when there is no such asset. */
  assets?: AssetFetcher;
  /** Serialized size of a value; throws if it cannot be structured-cloned. */
  measure(value: unknown): number;
  /** Alarm retry base delay (ms); tests shorten it. */
  alarmRetryBaseMs?: number;
}

const noAssets: AssetFetcher = { fetch: () => Promise.resolve(null) };

/**
 * Owns the live rooms of this process: creates them on demand, evicts idle ones, hibernates
 * instances, fires alarms, and gives party stubs direct access to rooms.
 */
export class RoomHost {
  private readonly rooms = new Map<string, RoomRuntime>();
  private defs: ReadonlyMap<string, PartyDef>;
  readonly shared: RoomShared;
  readonly alarms: AlarmScheduler;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private originValue = "http://127.0.0.1";
  private closed = false;

  constructor(private readonly options: HostOptions) {
    this.defs = options.parties;
    if (!this.defs.has("main")) {
      throw new PartyhouseError(
        "PH_ERR_CONFIG",
        'a party named "main" is required (config field "main")',
      );
    }
    const log = options.log;
    const target: StubTarget = {
      origin: () => this.originValue,
      roomRequest: (party, room, request) => this.getRoom(party, room).request(request),
      roomConnect: (party, room, request, pair) => {
        const url = new URL(request.url);
        const id = url.searchParams.get("_pk") || crypto.randomUUID();
        pair.attach(this.getRoom(party, room).connect(pair.server, id, request));
      },
      onListenerError: (e) =>
        log.error("PH_ERR_HANDLER", `stub socket listener: ${errorMessage(e)}`),
    };
    const parties: Parties = createParties(target, this.defs.keys());
    this.alarms = new AlarmScheduler(
      (party, room, time) => this.fireAlarm(party, room, time),
      (party, room, time) => this.openStorage(party, room).clearFiredAlarm(time),
      log,
      options.alarmRetryBaseMs,
    );
    this.shared = {
      limits: options.limits,
      log,
      env: options.env,
      parties,
      assets: options.assets ?? noAssets,
      context: {
        parties,
        assets: options.assets ?? noAssets,
        ai: {},
        vectorize: {},
        bindings: { r2: {}, kv: {} },
      },
      openStorage: (party, room) => this.openStorage(party, room),
      measure: options.measure,
      plainState: Object.freeze({
        clone: false,
        maxBytes: options.limits.maxStateBytes,
        measure: options.measure,
      }),
      hibernatingState: Object.freeze({
        clone: true,
        maxBytes: options.limits.maxStateBytes,
        measure: options.measure,
      }),
    };
  }

  /** Loads every stored alarm (due ones fire now) and starts the idle sweeper. */
  async start(): Promise<void> {
    this.alarms.load(await this.options.storage.listAlarms());
    const { idleTimeoutMs, hibernateAfterMs } = this.options.limits;
    const every = Math.max(
      10,
      Math.min(1000, Math.floor(Math.min(idleTimeoutMs, hibernateAfterMs) / 4)),
    );
    this.sweeper = setInterval(() => this.sweep(), every);
    (this.sweeper as { unref?: () => void }).unref?.();
  }

  /** The origin stubs use in their URLs (`http://host:port`), known once the server listens. */
  setOrigin(origin: string): void {
    this.originValue = origin;
  }

  get partyNames(): Iterable<string> {
    return this.defs.keys();
  }

  getDef(name: string): PartyDef | undefined {
    return this.defs.get(name);
  }

  /** The live room, created on first use. */
  getRoom(party: string, room: string): RoomRuntime {
    if (this.closed)
      throw new PartyhouseError("PH_ERR_SHUTDOWN", "the server is shutting down", { status: 503 });
    const key = `${party}\u0000${room}`;
    let rt = this.rooms.get(key);
    if (rt === undefined) {
      const def = this.defs.get(party);
      if (def === undefined) {
        throw new PartyhouseError("PH_ERR_PARTY_NOT_FOUND", `Party ${party} not found`, {
          status: 404,
        });
      }
      rt = new RoomRuntime(def, room, this.shared);
      this.rooms.set(key, rt);
    }
    return rt;
  }

  /** Live rooms (for tests, metrics and benchmarks). */
  get roomCount(): number {
    return this.rooms.size;
  }

  peekRoom(party: string, room: string): RoomRuntime | undefined {
    return this.rooms.get(`${party}\u0000${room}`);
  }

  connect(
    party: string,
    room: string,
    raw: RawSocket,
    connId: string,
    request: Request,
  ): SocketSink {
    return this.getRoom(party, room).connect(raw, connId, request);
  }

  private openStorage(party: string, room: string) {
    return this.options.storage.open(
      { party, room },
      { onAlarmChange: (time) => this.alarms.set(party, room, time) },
    );
  }

  private fireAlarm(party: string, room: string, time: number): Promise<void> {
    return this.getRoom(party, room).alarm(time);
  }

  /** Evicts idle rooms and drops idle hibernating instances. */
  sweep(now = Date.now()): void {
    const { idleTimeoutMs, hibernateAfterMs } = this.options.limits;
    for (const [key, rt] of this.rooms) {
      if (rt.isIdle(now, idleTimeoutMs) && !this.alarms.isDue(rt.def.name, rt.id, now)) {
        this.rooms.delete(key);
        rt.dispose();
        continue;
      }
      rt.maybeHibernate(now, hibernateAfterMs);
    }
  }

  /**
   * Fault isolation: drops one room whose code failed outside any handler (an unhandled rejection,
   * an uncaught exception, a start or connect that never settled). Its sockets close with 1011,
   * its instance is disposed, its storage stays; the next request builds a fresh instance. `facade`
   * names the exact runtime that failed, so a stale timer of an already-reset instance cannot
   * reset its successor. Returns whether a room was dropped.
   */
  resetRoom(party: string, room: string, facade: Room, reason: string): boolean {
    const key = `${party}\u0000${room}`;
    const rt = this.rooms.get(key);
    if (rt === undefined || rt.facade !== facade) return false;
    this.rooms.delete(key);
    rt.fail(reason);
    return true;
  }

  /**
   * Swaps in new party code (dev reload): every room is dropped, its sockets closed with 1012 so
   * clients reconnect to the new code; storage is untouched.
   */
  reload(parties: ReadonlyMap<string, PartyDef>): void {
    this.defs = parties;
    for (const rt of this.rooms.values()) rt.closeAll(CloseCode.RESTART, "Server reloaded");
    this.rooms.clear();
  }

  /**
   * Graceful stop: close sockets with 1012, give their onClose handlers a moment to run (they
   * often write to storage), then flush and close storage.
   */
  async shutdown(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.alarms.stop();
    const rooms = [...this.rooms.values()];
    for (const rt of rooms) rt.closeAll(CloseCode.RESTART, "Server shutting down");
    const deadline = Date.now() + graceMs;
    const busy = () => rooms.some((rt) => rt.connections.size > 0 || rt.inflight > 0);
    while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // Let handlers that just ran issue their writes before the final flush.
    await new Promise((r) => setTimeout(r, 20));
    await Promise.allSettled(rooms.map((rt) => rt.flushStorage()));
    this.rooms.clear();
    await this.options.storage.close();
  }
}
