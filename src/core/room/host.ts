import { AlarmScheduler } from "./alarms.js";
import { CloseCode } from "../close-codes.js";
import { errorMessage, PartyhouseError } from "../errors.js";
import type { Limits } from "../limits.js";
import type { Logger } from "../log.js";
import type { PartyDef } from "./party-def.js";
import { LocalPlacement } from "../placement.js";
import type { Placement, RemoteLocation, RoomLocation } from "../placement.js";
import { LiveRoom } from "./live-room.js";
import { enterOrForward, notOwnerError } from "./forwarding.js";
import type { Forwarder } from "./forwarding.js";
import type { RoomIdentity, RoomShared } from "./room-shared.js";
import type { StorageProvider } from "../api/storage-api.js";
import { createParties } from "./stubs.js";
import type { StubTarget } from "./stubs.js";
import type { AssetFetcher, Context, Parties, Room } from "../api/types.js";

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
  /** Who owns a room; defaults to this process owning every room. */
  placement?: Placement;
  /**
   * How often stored alarms that fall due soon are read into timers (ms). Default 30,000 in one
   * process; 1,000 with a placement that claims due alarms (a cluster), so an alarm whose owner
   * died fires within about a second after the owner's lease ran out.
   */
  alarmSweepMs?: number;
  /** `room.context.ai` (and `lobby.ai`): the AI binding; default an empty object. */
  ai?: object;
  /** Carries requests for rooms owned by another node there; without it they get 503. */
  forwarder?: Forwarder;
}

/** Alarms read per sweep at most; a store with more due at once catches up over a few sweeps. */
const ALARM_SWEEP_BATCH = 10_000;
const DEFAULT_ALARM_SWEEP_MS = 30_000;
const CLUSTER_ALARM_SWEEP_MS = 1000;

const noAssets: AssetFetcher = { fetch: () => Promise.resolve(null) };
/** Storage opened without a live room (clearing a fired alarm): no input gate to close. */
const noReader = { onStorageRead() {} };

/**
 * Owns the live rooms of this process: creates them on demand, evicts idle ones, hibernates
 * instances, fires alarms, and gives party stubs direct access to rooms.
 *
 * `enter` is the one entrance: requests, upgrades, raw transports, stubs and alarms all reach a
 * room through it, and it asks the placement before it takes a room on.
 */
export class RoomHost {
  private readonly rooms = new Map<string, LiveRoom>();
  private defs: ReadonlyMap<string, PartyDef>;
  readonly shared: RoomShared;
  readonly alarms: AlarmScheduler;
  private readonly placement: Placement;
  readonly forwarder: Forwarder | undefined;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private alarmSweeper: ReturnType<typeof setInterval> | undefined;
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
    this.placement = options.placement ?? new LocalPlacement();
    this.forwarder = options.forwarder;
    const lost = this.selfFencing();
    const target: StubTarget = {
      origin: () => this.originValue,
      // A stub to a room owned elsewhere is forwarded (a stub skips onBefore*, as does the owner).
      roomRequest: async (party, room, request) => {
        const at = await enterOrForward(this, party, room, "client", (f, url) =>
          f.fetch(url, request),
        );
        if ("room" in at) return at.room.request(request);
        if (at.answer === "handled") throw new Error("a stub's request has no raw transport");
        return at.answer;
      },
      roomConnect: (party, room, request, pair) => {
        const url = new URL(request.url);
        const id = url.searchParams.get("_pk") || crypto.randomUUID();
        // The pair buffers what the client sends until the room is attached.
        Promise.resolve()
          .then(() =>
            enterOrForward(this, party, room, "client", (f, owner) =>
              f.connect(owner, request, pair.server),
            ),
          )
          .then(
            (at) =>
              pair.attach("room" in at ? at.room.connect(pair.server, id, request) : at.answer),
            (e: unknown) => pair.server.close(CloseCode.INTERNAL, errorMessage(e)),
          );
      },
      onListenerError: (e) =>
        log.error("PH_ERR_HANDLER", `stub socket listener: ${errorMessage(e)}`),
    };
    const parties: Parties = createParties(target, this.defs.keys());
    this.alarms = new AlarmScheduler(
      (party, room, time, retries) => this.fireAlarm(party, room, time, retries),
      (party, room, time) => this.clearFiredAlarm(party, room, time),
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
        ai: (options.ai ?? {}) as Context["ai"],
        vectorize: {},
        bindings: { r2: {}, kv: {} },
      },
      openStorage: (party, room, rt) => this.openStorage(party, room, rt),
      resetRoom: (rt, error, reason) => this.resetLive(rt, error, reason),
      measure: options.measure,
      ...(lost !== undefined ? { lost } : {}),
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

  /**
   * Reads the alarms that fall due soon (due ones fire now) and starts the sweepers. Alarms further
   * off are read by later sweeps, each looking two sweep periods ahead, so every alarm has its
   * timer at least one period before it is due and far-off ones cost nothing until then.
   */
  async start(): Promise<void> {
    await this.sweepAlarms();
    const sweepMs = this.alarmSweepMs();
    this.alarmSweeper = setInterval(() => {
      this.sweepAlarms().catch((e: unknown) =>
        this.options.log.error("PH_ERR_STORAGE_IO", `reading due alarms: ${errorMessage(e)}`),
      );
    }, sweepMs);
    (this.alarmSweeper as { unref?: () => void }).unref?.();
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

  /**
   * The one entrance to a room: the live room, or the room taken on now if the placement says it
   * belongs here. A live room answers synchronously (the hot path of every request to it).
   */
  enter(party: string, room: string): LiveRoom | Promise<LiveRoom> {
    const at = this.reach(party, room);
    if (at instanceof Promise) return at.then((a) => ownedHere(party, room, a));
    return ownedHere(party, room, at);
  }

  /**
   * `enter`, except that a room another node owns answers with its location (to forward to)
   * instead of throwing PH_ERR_NOT_OWNER.
   */
  reach(
    party: string,
    room: string,
  ): LiveRoom | RemoteLocation | Promise<LiveRoom | RemoteLocation> {
    if (this.closed)
      throw new PartyhouseError("PH_ERR_SHUTDOWN", "the server is shutting down", { status: 503 });
    if (this.shared.lost?.() === true) throw notServing();
    const live = this.rooms.get(`${party}\u0000${room}`);
    if (live !== undefined) return live;
    const def = this.defs.get(party);
    if (def === undefined) {
      throw new PartyhouseError("PH_ERR_PARTY_NOT_FOUND", `Party ${party} not found`, {
        status: 404,
      });
    }
    const where = this.placement.locate({ party, room });
    if (where instanceof Promise)
      return where.then((w) => (w.kind === "remote" ? w : this.takeOn(def, room, w)));
    return where.kind === "remote" ? where : this.takeOn(def, room, where);
  }

  private takeOn(def: PartyDef, room: string, where: RoomLocation): LiveRoom {
    if (where.kind !== "here") throw notOwnerError(def.name, room, where.url);
    const key = `${def.name}\u0000${room}`;
    // Another road may have taken the room on while the placement answered.
    const raced = this.rooms.get(key);
    if (raced !== undefined) return raced;
    if (this.closed)
      throw new PartyhouseError("PH_ERR_SHUTDOWN", "the server is shutting down", { status: 503 });
    const rt = new LiveRoom(def, room, this.shared);
    if (where.epoch > 0) rt.epoch = where.epoch;
    this.rooms.set(key, rt);
    this.options.log.debug("room created", { party: def.name, room });
    this.loadAlarm(rt);
    return rt;
  }

  /** The owner `locate` named for a room said it is not the owner: the placement re-resolves. */
  misplaced(party: string, room: string, url: string): void {
    this.placement.misplaced?.({ party, room }, url);
  }

  /** The live room, if any: never takes one on (inspection, eviction). */
  peek(party: string, room: string): LiveRoom | undefined {
    return this.rooms.get(`${party}\u0000${room}`);
  }

  /** Every live room (inspection). */
  liveRooms(): IterableIterator<LiveRoom> {
    return this.rooms.values();
  }

  /**
   * A room taken on learns its stored alarm now. Skipped when the scheduler already knows it (a
   * sweep read it) or it changed while the read ran (the change is newer than what was read).
   */
  private loadAlarm(rt: LiveRoom): void {
    const party = rt.def.name;
    if (this.alarms.has(party, rt.id)) return;
    const seen = rt.alarmChanges;
    // The platform's own read: it must not close the room's input gate.
    rt.storage.getAlarm({ allowConcurrency: true }).then(
      (time) => {
        if (time === null || rt.alarmChanges !== seen || this.alarms.has(party, rt.id)) return;
        this.alarms.set(party, rt.id, time);
      },
      (e: unknown) =>
        this.options.log.error(
          "PH_ERR_STORAGE_IO",
          `reading the alarm of ${party}/${rt.id}: ${errorMessage(e)}`,
        ),
    );
  }

  private alarmSweepMs(): number {
    return (
      this.options.alarmSweepMs ??
      (this.placement.claimDueAlarms !== undefined
        ? CLUSTER_ALARM_SWEEP_MS
        : DEFAULT_ALARM_SWEEP_MS)
    );
  }

  /**
   * One process reads every due alarm. In a cluster the placement picks them: the alarms of this
   * node's rooms, and those of rooms no live node owns (claimed for this node as it reads them),
   * so no node keeps a timer for a room another live node owns.
   */
  private async sweepAlarms(): Promise<void> {
    if (this.closed || this.placement.serving?.() === false) return;
    const until = Date.now() + 2 * this.alarmSweepMs();
    const rows =
      this.placement.claimDueAlarms !== undefined
        ? await this.placement.claimDueAlarms(until, ALARM_SWEEP_BATCH)
        : await this.options.storage.listAlarms({ until, limit: ALARM_SWEEP_BATCH });
    if (!this.closed) this.alarms.load(rows);
  }

  /**
   * Deletes a fired alarm's row. In a cluster only through the live room's storage, whose commits
   * carry its epoch: a node that lost the room meanwhile (its commit would be fenced anyway) leaves
   * the row to the new owner, which runs the alarm again (at-least-once).
   */
  private clearFiredAlarm(party: string, room: string, time: number): Promise<void> {
    const live = this.peek(party, room);
    if (live !== undefined) return live.storage.clearFiredAlarm(time);
    if (this.placement.claimDueAlarms !== undefined) return Promise.resolve();
    return this.openStorage(party, room, noReader).clearFiredAlarm(time);
  }

  private openStorage(
    party: string,
    room: string,
    reader: { onStorageRead(done: Promise<unknown>): void; readonly epoch?: number | undefined },
  ) {
    const key = `${party}\u0000${room}`;
    return this.options.storage.open(
      { party, room },
      {
        onAlarmChange: (time) => {
          const rt = this.rooms.get(key);
          if (rt !== undefined) rt.alarmChanges++;
          this.alarms.set(party, room, time);
        },
        onRead: (done) => reader.onStorageRead(done),
        // The runtime that opened the storage, not the live one: a dropped room's late commits
        // keep its old epoch and are fenced.
        epoch: () => reader.epoch,
        // Cloudflare resets an object whose write failed, whether or not it had sent anything.
        onCommitError: (e) => {
          const rt = this.rooms.get(key);
          if (rt !== undefined) this.resetLive(rt, e, "Room reset: a storage write failed");
        },
      },
    );
  }

  /** A failed commit or a stuck blockConcurrencyWhile: Cloudflare resets the object; so do we. */
  private resetLive(rt: RoomIdentity, error: unknown, reason: string): void {
    const live = this.rooms.get(`${rt.def.name}\u0000${rt.id}`);
    if (live === undefined || live !== rt) return;
    this.options.log.error(
      "PH_ERR_ROOM_RESET",
      `party "${live.def.name}" room "${live.id}" reset: ${errorMessage(error)}`,
      { party: live.def.name, room: live.id },
    );
    this.resetRoom(live.def.name, live.id, live.facade, reason);
  }

  /** Runs an alarm in its room; false when another node owns the room (its timer is dropped). */
  private async fireAlarm(
    party: string,
    room: string,
    time: number,
    retries: number,
  ): Promise<boolean> {
    const at = await this.reach(party, room);
    if (!(at instanceof LiveRoom)) return false;
    await at.alarm(time, retries);
    return true;
  }

  /** Drops a room from this process: its instance, its storage state, its placement. */
  private drop(key: string, rt: LiveRoom): void {
    rt.dispose();
    this.options.log.debug("room evicted", { party: rt.def.name, room: rt.id });
    this.forgetRoom(key, rt);
  }

  /**
   * What every road out of this process ends with (eviction, reset): the room is no longer live
   * here, its alarm timer (in a cluster), storage state and ownership go.
   */
  private forgetRoom(key: string, rt: LiveRoom): void {
    this.rooms.delete(key);
    const ref = { party: rt.def.name, room: rt.id };
    this.forgetAlarm(ref);
    this.options.storage.release(ref);
    this.releaseWhenFlushed(rt, ref);
  }

  /**
   * Gives the room's ownership up once its pending writes are durable: a release raises the
   * fencing epoch, so a commit still in flight behind it would be refused.
   */
  private releaseWhenFlushed(rt: LiveRoom, ref: { party: string; room: string }): void {
    const release = () => this.releasePlacement(ref);
    rt.flushStorage().then(release, release);
  }

  /**
   * In a cluster a dropped room's alarm timer goes: once released, another node may claim the room
   * and run its alarm. The sweep reads it again if the room is still this node's when it is due.
   * One process keeps the timer (it wakes the room again).
   */
  private forgetAlarm(ref: { party: string; room: string }): void {
    if (this.placement.claimDueAlarms !== undefined) this.alarms.set(ref.party, ref.room, null);
  }

  private releasePlacement(ref: { party: string; room: string }): void {
    try {
      const r = this.placement.release(ref);
      if (r instanceof Promise) r.catch((e: unknown) => this.logRelease(ref, e));
    } catch (e) {
      this.logRelease(ref, e);
    }
  }

  private logRelease(ref: { party: string; room: string }, e: unknown): void {
    this.options.log.error(
      "PH_ERR_INTERNAL",
      `releasing ${ref.party}/${ref.room} from placement: ${errorMessage(e)}`,
    );
  }

  /** Evicts idle rooms and drops idle hibernating instances. */
  sweep(now = Date.now()): void {
    const { idleTimeoutMs, hibernateAfterMs } = this.options.limits;
    for (const [key, rt] of this.rooms) {
      if (rt.isIdle(now, idleTimeoutMs) && !this.alarms.isDue(rt.def.name, rt.id, now)) {
        this.drop(key, rt);
        continue;
      }
      if (rt.maybeHibernate(now, hibernateAfterMs)) {
        this.options.log.debug("room hibernated", { party: rt.def.name, room: rt.id });
      }
    }
  }

  /**
   * Resets one room after a failure it cannot recover from: its code failed outside any handler
   * (an unhandled rejection, an uncaught exception, a start or connect that never settled), or a
   * storage commit failed. What its output gate held is discarded, its sockets close with 1011,
   * its instance is disposed; storage keeps what was durable and the next request builds a fresh
   * instance. `facade` names the exact runtime that failed, so a stale timer of an already-reset
   * instance cannot reset its successor. Returns whether a room was dropped.
   */
  resetRoom(party: string, room: string, facade: Room, reason: string): boolean {
    const key = `${party}\u0000${room}`;
    const rt = this.rooms.get(key);
    if (rt === undefined || rt.facade !== facade) return false;
    rt.fail(reason);
    this.forgetRoom(key, rt);
    return true;
  }

  // ---- Self-fencing (distributed mode) ------------------------------------

  /**
   * The `lost` check rooms run before each event, wired to the placement's self-fence; undefined
   * when the placement never loses rooms (one process).
   */
  private selfFencing(): (() => boolean) | undefined {
    const placement = this.placement;
    if (placement.serving === undefined) return undefined;
    placement.onLost?.((reason) => this.relinquishAll(CloseCode.RESTART, reason));
    return () => {
      if (placement.serving!()) return false;
      if (this.rooms.size > 0) this.relinquishAll(CloseCode.RESTART, "This node lost its lease");
      return true;
    };
  }

  /**
   * Stops serving every room at once, before another node can claim them: held messages are
   * discarded, sockets closed with `code` (1012: clients reconnect, through any node), instances
   * dropped. Storage keeps what was durable; writes still in flight carry the old epoch and are
   * fenced. Ownership is not released (the lease lapses by itself). Returns how many rooms.
   */
  relinquishAll(code: number, reason: string): number {
    const rooms = [...this.rooms.values()];
    this.rooms.clear();
    // Every alarm timer too (also those of rooms claimed for an alarm but not taken on yet):
    // another node runs them once it owns the rooms.
    this.alarms.cancelAll();
    for (const rt of rooms) {
      rt.fail(reason, code);
      this.options.storage.release({ party: rt.def.name, room: rt.id });
    }
    if (rooms.length > 0) {
      this.options.log.error(
        "PH_ERR_CLUSTER_UNAVAILABLE",
        `${reason}: dropped ${rooms.length} rooms`,
      );
    }
    return rooms.length;
  }

  /**
   * Swaps in new party code (dev reload): every room is dropped, its sockets closed with 1012 so
   * clients reconnect to the new code; storage is untouched.
   */
  reload(parties: ReadonlyMap<string, PartyDef>): void {
    this.defs = parties;
    for (const rt of this.rooms.values()) {
      rt.closeAll(CloseCode.RESTART, "Server reloaded");
      this.options.storage.release({ party: rt.def.name, room: rt.id });
    }
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
    if (this.alarmSweeper !== undefined) clearInterval(this.alarmSweeper);
    this.alarms.stop();
    const rooms = [...this.rooms.values()];
    // Flush first: messages the output gate holds leave before the 1012 close frames.
    await Promise.allSettled(rooms.map((rt) => rt.flushStorage()));
    for (const rt of rooms) rt.closeAll(CloseCode.RESTART, "Server shutting down");
    const deadline = Date.now() + graceMs;
    const busy = () => rooms.some((rt) => rt.connections.size > 0 || rt.inflight > 0);
    while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // Let handlers that just ran issue their writes before the final flush.
    await new Promise((r) => setTimeout(r, 20));
    await Promise.allSettled(rooms.map((rt) => rt.flushStorage()));
    this.rooms.clear();
    await Promise.allSettled(
      rooms.map((rt) => this.placement.release({ party: rt.def.name, room: rt.id })),
    );
    await this.options.storage.close();
  }
}

function ownedHere(party: string, room: string, at: LiveRoom | RemoteLocation): LiveRoom {
  if (at instanceof LiveRoom) return at;
  throw notOwnerError(party, room, at.url);
}

function notServing(): PartyhouseError {
  return new PartyhouseError(
    "PH_ERR_CLUSTER_UNAVAILABLE",
    "this node cannot confirm its lease in the cluster database; it serves no room until it can",
    { status: 503 },
  );
}
