import { ConnectionPhase, RoomConnection } from "./connection.js";
import type { ConnectionEvent } from "./connection.js";
import { CloseCode, truncateReason } from "../close-codes.js";
import { errorMessage, PartyhouseError } from "../errors.js";
import type { ErrorCode } from "../errors.js";
import { RAW_HANDLER } from "../raw-contract.js";
import type { PartyDef, PartyInstance } from "./party-def.js";
import { EventGate } from "./event-gate.js";
import { OutputGate } from "./output-gate.js";
import { RoomFacade } from "./room-facade.js";
import { normalizeTags } from "./tags.js";
import type { RoomShared } from "./room-shared.js";
import { ConnectionSet } from "./connection-set.js";
import type { SocketHooks } from "../wire/socket-base.js";
import { ReadyState } from "../wire/socket.js";
import type { RawSocket, SocketSink } from "../wire/socket.js";
import type { DurableStorage, RoomStorageControl } from "../api/storage-api.js";
import type { Connection, ConnectionContext, Room, WSMessage } from "../api/types.js";

/**
 * One live room: the platform side of a PartyKit room (what a Durable Object is on Cloudflare).
 * It owns the connections, the storage handle and the user instance. The instance may be dropped
 * (hibernation) while this object and its sockets stay; the whole runtime is dropped on eviction.
 *
 * Ordering: every event goes through the EventGate, which queues while the room is held (the instance is
 * starting, or user code is inside blockConcurrencyWhile) and drains in arrival order.
 */
export class LiveRoom implements SocketHooks {
  readonly connections: ConnectionSet;
  readonly facade: Room;
  /** Opened on first use: many rooms never touch storage. */
  private storageHandle: (DurableStorage & RoomStorageControl) | undefined;
  private instance: PartyInstance | undefined;
  private starting: Promise<PartyInstance> | undefined;
  private readonly gate = new EventGate(
    () => this.instance !== undefined,
    () => this.wake(),
  );
  /** Holds what the room sends after a write until the write is durable (Durable Objects' gate). */
  readonly outbox = new OutputGate(
    () => this.storageHandle?.outputBarrier(),
    (e) => this.shared.resetRoom(this, e, "Room reset: a storage write failed"),
    () => this.shared.lost?.() !== true,
  );
  /** Requests, connects and alarms under way; a room with any is never evicted. */
  inflight = 0;
  /** Bumped on every event; the sweeper turns changes into `idleSince` (no clock read per message). */
  activity = 0;
  private seenActivity = 0;
  private idleSince = Date.now();
  /** Known once the instance was first built (class form reads `options.hibernate`). */
  hibernates: boolean | undefined;
  /** Bumped when a commit changes the alarm, so a slower read of the old one is not applied. */
  alarmChanges = 0;
  /** Distributed mode: the ownership epoch this room was taken on under (its commits' fence). */
  epoch: number | undefined;

  constructor(
    readonly def: PartyDef,
    readonly id: string,
    readonly shared: RoomShared,
  ) {
    this.facade = new RoomFacade(this);
    this.connections = new ConnectionSet(this.outbox, shared, this);
  }

  get storage(): DurableStorage & RoomStorageControl {
    return (this.storageHandle ??= this.shared.openStorage(this.def.name, this.id, this));
  }

  /**
   * The input gate: a storage read is in flight, so no other event enters the room. The gate opens
   * a macrotask after the read settles, once the code that awaited it has run its continuation
   * (which typically writes what it read): workerd delivers each event as its own task, so the
   * microtasks of one always finish before the next starts. A read served from the cache holds
   * the gate just as briefly.
   */
  onStorageRead(done: Promise<unknown>): void {
    this.gate.hold();
    const open = () => nextTask(() => this.gate.release());
    done.then(open, open);
  }

  /** Makes every write so far durable (shutdown); nothing to do if storage was never opened. */
  flushStorage(): Promise<void> {
    return this.storageHandle?.flush() ?? Promise.resolve();
  }

  /** SocketHooks: a throwing hand-attached listener is logged; the others still run. */
  onListenerError(e: unknown): void {
    this.logHandlerError("listener", e);
  }

  get isStarted(): boolean {
    return this.instance !== undefined && this.starting === undefined;
  }

  /** Builds the instance and runs onStart once; concurrent callers share the same start. */
  ensureStarted(): Promise<PartyInstance> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.isStarted) return Promise.resolve(this.instance!);
    if (this.starting === undefined) {
      this.gate.hold();
      this.starting = this.start().finally(() => {
        this.starting = undefined;
        this.gate.release();
      });
    }
    return this.starting;
  }

  private async start(): Promise<PartyInstance> {
    let instance: PartyInstance;
    try {
      instance = this.def.create(this.facade);
      this.hibernates = instance.hibernate;
      await instance.onStart();
    } catch (e) {
      this.instance = undefined;
      this.logError("PH_ERR_ON_START", "onStart", e);
      // Events queued for this start cannot be delivered to an instance that never started.
      this.gate.clear();
      throw e;
    }
    this.instance = instance;
    return instance;
  }

  private wake(): void {
    this.ensureStarted().catch(() => {
      /* logged in start() */
    });
  }

  /**
   * Holds every event of the room until `fn` settles. Bounded: a `fn` that never settles would
   * hold the room (and every socket's queued messages) forever, so past
   * `blockConcurrencyTimeoutMs` the call rejects and the room is reset, as on Cloudflare.
   */
  async blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T> {
    this.gate.hold();
    const limit = this.shared.limits.blockConcurrencyTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new PartyhouseError(
          "PH_ERR_TIMEOUT",
          `blockConcurrencyWhile of party "${this.def.name}" room "${this.id}" did not settle within ${limit} ms; the room was reset`,
        );
        this.shared.log.error("PH_ERR_TIMEOUT", error.message, {
          party: this.def.name,
          room: this.id,
        });
        reject(error);
        this.shared.resetRoom(this, error, "Room reset: blockConcurrencyWhile timed out");
      }, limit);
    });
    try {
      return await Promise.race([fn(), expired]);
    } finally {
      clearTimeout(timer);
      this.gate.releaseSoon();
    }
  }

  // ---- HTTP ----------------------------------------------------------------

  /** Counts `work` as in flight, so the room is not evicted while it runs. */
  private async tracked<T>(work: () => Promise<T>): Promise<T> {
    this.inflight++;
    try {
      return await work();
    } finally {
      this.inflight--;
      this.touch();
    }
  }

  /** Starts the instance and waits until an event may run: what every entry point does first. */
  private async whenReady(): Promise<PartyInstance> {
    const instance = await this.ensureStarted();
    await this.gate.whenOpen();
    return instance;
  }

  /** onRequest's Response leaves once the writes before it are durable (output gate). */
  request(req: Request): Promise<Response> {
    return this.tracked(async () => {
      const response = await (await this.whenReady()).onRequest(req);
      const durable = this.outbox.settled();
      if (durable !== undefined) await durable;
      return response;
    });
  }

  /**
   * Starts the instance before a WebSocket handshake completes. As in PartyKit, an upgrade to a
   * room whose onStart throws is refused with an HTTP error rather than accepted and closed.
   */
  async ready(): Promise<void> {
    if (this.isStarted) return;
    await this.tracked(() => this.ensureStarted());
  }

  /** Hands the adapter's own request or upgrade to a party that takes it (Socket.IO). */
  handOver(kind: "request" | "upgrade", native: unknown): Promise<void> {
    return this.tracked(async () => {
      const instance = await this.whenReady();
      if (instance.raw === undefined) {
        throw new PartyhouseError("PH_ERR_INTERNAL", `party "${this.def.name}" has no raw handler`);
      }
      instance.raw[RAW_HANDLER](kind, native);
    });
  }

  // ---- WebSocket -----------------------------------------------------------

  /**
   * Accepts an upgraded socket into the room. Follows PartyKit: start the instance, read tags,
   * register the connection, await onConnect; any throw closes the socket with 1011 and the
   * error's message. Messages that arrive meanwhile wait for onConnect to finish. A party with
   * neither onConnect nor onMessage still gets the socket (PartyKit accepts it too): its rooms
   * can push to listen-only clients with broadcast.
   */
  connect(raw: RawSocket, connId: string, request: Request): SocketSink {
    const conn = new RoomConnection(
      raw,
      this,
      connId,
      request.url,
      this.shared.plainState,
      this.outbox,
    );
    void this.tracked(() => this.accept(conn, request));
    return new ConnectionSink(this, conn);
  }

  private async accept(conn: RoomConnection, request: Request): Promise<void> {
    const ctx: ConnectionContext = { request };
    try {
      const instance = await this.whenReady();
      // Hibernating rooms keep state as Cloudflare attachments: cloned and size-limited.
      if (instance.hibernate) conn.statePolicy = this.shared.hibernatingState;
      if (this.connections.size >= this.shared.limits.maxConnectionsPerRoom) {
        this.shared.log.error("PH_ERR_TOO_MANY_CONNECTIONS", `room "${this.id}" is full`, {
          party: this.def.name,
          room: this.id,
        });
        conn.phase = ConnectionPhase.DONE;
        conn.close(CloseCode.TRY_AGAIN, "Room is full");
        return;
      }
      const tags = await instance.getConnectionTags(conn, ctx);
      conn.tags = normalizeTags(conn.id, tags, instance.hibernate);
      if (conn.readyState !== ReadyState.OPEN) {
        // The client left while we were starting; PartyKit would never have called onConnect.
        conn.phase = ConnectionPhase.DONE;
        return;
      }
      this.connections.add(conn);
      await instance.onConnect(conn, ctx);
      conn.phase = ConnectionPhase.OPEN;
    } catch (e) {
      this.logError("PH_ERR_ON_CONNECT", "connect", e, { connection: conn.id });
      this.forget(conn);
      conn.phase = ConnectionPhase.DONE;
      conn.close(
        CloseCode.INTERNAL,
        truncateReason(errorMessage(e) || "Uncaught exception when connecting"),
      );
      return;
    }
    const pending = conn.pending;
    conn.pending = [];
    for (const event of pending) this.dispatch(conn, event);
  }

  /** @internal a message from the wire: the hot path, so no closure or event object unless needed. */
  onSocketMessage(conn: RoomConnection, data: string | ArrayBuffer): void {
    if (this.shared.lost?.() === true) return; // self-fenced: the room was dropped
    this.activity++;
    if (conn.phase !== ConnectionPhase.OPEN) {
      if (conn.phase === ConnectionPhase.CONNECTING) this.connections.queueEarly(conn, data);
      return;
    }
    const instance = this.instance;
    if (instance !== undefined && this.gate.open) {
      this.deliverMessage(instance, conn, data);
      return;
    }
    this.gate.run(() => this.deliverMessage(this.instance!, conn, data));
  }

  /** @internal close and error from the wire. */
  onSocketEvent(conn: RoomConnection, event: ConnectionEvent): void {
    if (this.shared.lost?.() === true) return; // self-fenced: the room was dropped
    this.activity++;
    if (event.type === "close" || event.type === "error") {
      // The manager forgets a closed socket at once, so getConnections() inside onClose skips it.
      this.forget(conn);
    }
    if (conn.phase === ConnectionPhase.CONNECTING) {
      conn.pending.push(event);
      return;
    }
    this.dispatch(conn, event);
  }

  private deliverMessage(
    instance: PartyInstance,
    conn: RoomConnection,
    data: string | ArrayBuffer,
  ): void {
    try {
      const r = instance.onMessage(data, conn);
      if (r instanceof Promise) r.catch((e: unknown) => this.logHandlerError("onMessage", e));
    } catch (e) {
      this.logHandlerError("onMessage", e);
    }
    if (conn.hasListeners("message")) conn.emit("message", { type: "message", data, target: conn });
  }

  private dispatch(conn: RoomConnection, event: ConnectionEvent): void {
    // A socket whose connect failed was closed with 1011 and never reaches the handlers.
    if (conn.phase !== ConnectionPhase.OPEN) return;
    // On workerd a socket that failed (a protocol error, an oversized message) reports onError
    // and nothing after it: no onClose, no "close" event. PartyKit users see exactly that.
    if (event.type === "error") conn.phase = ConnectionPhase.DONE;
    this.gate.run(() => {
      const instance = this.instance!;
      switch (event.type) {
        case "message":
          this.deliverMessage(instance, conn, event.data);
          break;
        case "close":
          this.invoke("onClose", () => instance.onClose(conn));
          conn.emit("close", {
            type: "close",
            code: event.code,
            reason: event.reason,
            wasClean: event.wasClean,
            target: conn,
          });
          break;
        case "error":
          this.invoke("onError", () => instance.onError(conn, event.error));
          conn.emit("error", {
            type: "error",
            error: event.error,
            message: event.error.message,
            target: conn,
          });
          break;
      }
    });
  }

  private invoke(what: string, fn: () => unknown): void {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((e: unknown) => this.logHandlerError(what, e));
    } catch (e) {
      this.logHandlerError(what, e);
    }
  }

  private logHandlerError(what: string, e: unknown): void {
    this.logError("PH_ERR_HANDLER", what, e);
  }

  /** One log line for a failure in this room: code, party, room, what failed, and the stack. */
  private logError(
    code: ErrorCode,
    what: string,
    e: unknown,
    fields?: Record<string, unknown>,
  ): void {
    this.shared.log.error(
      code,
      `party "${this.def.name}" room "${this.id}" ${what}: ${errorMessage(e)}`,
      {
        party: this.def.name,
        room: this.id,
        ...fields,
        stack: e instanceof Error ? e.stack : undefined,
      },
    );
  }

  /** Drops a connection from the room, unless a newer one with the same id took its place. */
  private forget(conn: RoomConnection): void {
    this.connections.forget(conn);
  }

  // ---- Room API ------------------------------------------------------------

  broadcast(msg: WSMessage, without?: string[]): void {
    if (this.shared.lost?.() === true) return; // self-fenced: send nothing
    this.connections.broadcast(msg, without);
  }

  getConnection(id: string): Connection | undefined {
    return this.connections.get(id);
  }

  getConnections(tag?: string): IterableIterator<Connection> {
    return this.connections.list(tag);
  }

  // ---- Alarms --------------------------------------------------------------

  /**
   * Runs onAlarm through the room's queue; resolves or rejects with the handler's outcome. While
   * it runs, getAlarm() no longer reports the alarm at `time` (the scheduler clears it on success).
   */
  alarm(time?: number, retryCount = 0): Promise<void> {
    return this.tracked(async () => {
      const instance = await this.whenReady();
      if (time !== undefined) this.storage.alarmFiring(time);
      try {
        await instance.onAlarm({ retryCount, isRetry: retryCount > 0 });
      } catch (e) {
        if (time !== undefined) this.storage.alarmFiring(null);
        throw e;
      }
    });
  }

  // ---- Idle and hibernation -----------------------------------------------

  touch(): void {
    this.activity++;
  }

  /** Called by the sweeper: an event since the last sweep restarts the idle clock. */
  private quietFor(now: number): number {
    if (this.activity !== this.seenActivity) {
      this.seenActivity = this.activity;
      this.idleSince = now;
    }
    return now - this.idleSince;
  }

  /** True when nothing holds the room: it may be dropped entirely. */
  isIdle(now: number, idleMs: number): boolean {
    return (
      this.connections.size === 0 &&
      this.inflight === 0 &&
      this.outbox.held === 0 &&
      this.starting === undefined &&
      this.gate.quiet &&
      this.quietFor(now) >= idleMs &&
      this.instance?.isBusy() !== true
    );
  }

  /** Drops a hibernating room's instance after a quiet period; sockets, state and tags stay. */
  maybeHibernate(now: number, afterMs: number): boolean {
    if (this.instance === undefined || this.hibernates !== true) return false;
    if (this.inflight > 0 || !this.gate.quiet) return false;
    if (this.instance.isBusy()) return false;
    if (this.quietFor(now) < afterMs) return false;
    this.instance = undefined;
    // As on PartyKit, listeners attached by hand in onConnect do not survive hibernation.
    this.connections.clearListeners();
    return true;
  }

  get hasInstance(): boolean {
    return this.instance !== undefined;
  }

  /** Lets an evicted instance release what it holds itself (Socket.IO's engine). */
  dispose(): void {
    const instance = this.instance;
    this.instance = undefined;
    if (instance !== undefined) this.invoke("dispose", () => instance.dispose());
  }

  /** Set once the host reset this room after a fault: it never starts an instance again. */
  private failed: PartyhouseError | undefined;

  /**
   * Fault isolation (see RoomHost.resetRoom): no handler of this runtime runs again, every socket
   * closes with `code` (1011; 1012 when the node lost its lease), the instance is disposed.
   * Storage is left as it is.
   */
  fail(reason: string, code: number = CloseCode.INTERNAL): void {
    this.failed = new PartyhouseError(
      "PH_ERR_ROOM_RESET",
      `room "${this.id}" was reset: ${reason}`,
    );
    // What the output gate held was waiting for this room's writes: it never leaves.
    this.outbox.discard();
    this.connections.failAll(code, truncateReason(reason));
    this.gate.clear();
    this.dispose();
  }

  /**
   * Closes every socket at once, past the output gate (shutdown: 1012 so clients reconnect
   * elsewhere; a reset: 1011). Callers that want held messages delivered flush storage first.
   */
  closeAll(code: number, reason: string): void {
    this.connections.closeAll(code, reason);
    // A raw party (Socket.IO) holds sockets the platform cannot see; it closes those itself.
    const instance = this.instance;
    if (instance !== undefined) this.invoke("dispose", () => instance.dispose());
  }
}

/** Runs `fn` in a later macrotask: setImmediate where there is one (Node), else a timer. */
const nextTask: (fn: () => void) => void =
  typeof setImmediate === "function"
    ? (fn) => void setImmediate(fn)
    : (fn) => void setTimeout(fn, 0);

/** Feeds wire events into the room: one small object per connection instead of three closures. */
class ConnectionSink implements SocketSink {
  constructor(
    private readonly rt: LiveRoom,
    private readonly conn: RoomConnection,
  ) {}
  message(data: string | ArrayBuffer): void {
    this.rt.onSocketMessage(this.conn, data);
  }
  close(code: number, reason: string, wasClean: boolean): void {
    this.rt.onSocketEvent(this.conn, { type: "close", code, reason, wasClean });
  }
  error(error: Error): void {
    this.rt.onSocketEvent(this.conn, { type: "error", error });
  }
}
