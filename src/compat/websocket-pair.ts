/**
 * workerd's `WebSocketPair`: two connected in-memory WebSockets. `new WebSocketPair()` gives
 * `{ 0: client, 1: server }`; what one end sends, the other receives, asynchronously (a
 * microtask, as over a network). As on Cloudflare, an end queues what it receives until
 * `accept()`. Returning `new Response(null, { status: 101, webSocket: client })` for an upgrade
 * hands the client end to the server adapter, which connects it to the real WebSocket (adopt()).
 */
import { Listeners } from "../core/listeners.js";
import { toWire } from "../core/wire/socket-base.js";
import { ReadyState } from "../core/wire/socket.js";
import type { RawSocket, SocketSink } from "../core/wire/socket.js";
import type { EventMapLike, WSMessage } from "../core/api/types.js";

type Delivery =
  | { kind: "message"; data: string | ArrayBuffer }
  | { kind: "close"; code: number; reason: string; wasClean: boolean }
  | { kind: "error"; error: Error };

const kAdopt = Symbol.for("partyhouse.websocket-pair.adopt");

function copy(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

/** One end of a WebSocketPair, shaped like Cloudflare's server-side WebSocket. */
export class PairWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  binaryType: "arraybuffer" | "blob" = "arraybuffer";
  onmessage: ((event: EventMapLike["message"]) => void) | null = null;
  onclose: ((event: EventMapLike["close"]) => void) | null = null;
  onerror: ((event: EventMapLike["error"]) => void) | null = null;
  onopen: ((event: EventMapLike["open"]) => void) | null = null;
  /** @internal The other end. */
  peer!: PairWebSocket;
  private state: number = ReadyState.OPEN;
  private accepted = false;
  private readonly queue: Delivery[] = [];
  private readonly listeners = new Listeners();
  /** Set when the server adapter took this end over: deliveries go to the real socket. */
  private raw: RawSocket | undefined;

  get readyState(): number {
    return this.state;
  }
  readonly protocol = "";
  readonly extensions = "";
  readonly url: string | null = null;

  /** Starts delivering events (those received before are delivered now, in order). */
  accept(): void {
    if (this.accepted) return;
    this.accepted = true;
    for (const d of this.queue.splice(0)) this.dispatch(d);
  }

  send(data: WSMessage): void {
    if (this.state !== ReadyState.OPEN) throw new TypeError("WebSocket is not open");
    const wire = toWire(data);
    const payload = typeof wire.data === "string" ? wire.data : copy(wire.data);
    this.peer.receive({ kind: "message", data: payload });
  }

  close(code = 1000, reason = ""): void {
    if (this.state === ReadyState.CLOSED) return;
    this.state = ReadyState.CLOSED;
    this.peer.state = ReadyState.CLOSED;
    const d: Delivery = { kind: "close", code, reason, wasClean: true };
    this.peer.receive(d);
    this.receive(d);
  }

  addEventListener<K extends keyof EventMapLike>(
    type: K,
    fn: (event: EventMapLike[K]) => void,
    options?: { once?: boolean },
  ): void {
    this.listeners.add(type, fn, options?.once === true);
  }

  removeEventListener<K extends keyof EventMapLike>(
    type: K,
    fn: (event: EventMapLike[K]) => void,
  ): void {
    this.listeners.remove(type, fn);
  }

  /** Something arrives at this end, delivered after the current turn. */
  private receive(d: Delivery): void {
    queueMicrotask(() => {
      if (this.raw !== undefined) this.toRaw(this.raw, d);
      if (this.accepted || (this.raw !== undefined && d.kind !== "message")) this.dispatch(d);
      else if (this.raw === undefined) this.queue.push(d);
    });
  }

  private toRaw(raw: RawSocket, d: Delivery): void {
    if (d.kind === "message") {
      if (typeof d.data === "string") raw.send(d.data, false);
      else raw.send(new Uint8Array(d.data), true);
    } else if (d.kind === "close" && raw.readyState === ReadyState.OPEN) {
      raw.close(d.code, d.reason);
    }
  }

  private dispatch(d: Delivery): void {
    const onError = (e: unknown) => reportListenerError(e);
    if (d.kind === "message") {
      const ev = { type: "message" as const, data: d.data, target: this };
      this.call(this.onmessage, ev);
      this.listeners.emit("message", ev, onError);
    } else if (d.kind === "close") {
      const ev = {
        type: "close" as const,
        code: d.code,
        reason: d.reason,
        wasClean: d.wasClean,
        target: this,
      };
      this.call(this.onclose, ev);
      this.listeners.emit("close", ev, onError);
    } else {
      const ev = { type: "error" as const, error: d.error, message: d.error.message, target: this };
      this.call(this.onerror, ev);
      this.listeners.emit("error", ev, onError);
    }
  }

  private call<E>(fn: ((e: E) => void) | null, ev: E): void {
    if (fn === null) return;
    try {
      fn.call(this, ev);
    } catch (e) {
      reportListenerError(e);
    }
  }

  /**
   * @internal The server adapter connects this end to a real WebSocket: what the peer sends goes
   * out on `raw`, what arrives on `raw` reaches the peer as if this end had sent it.
   */
  [kAdopt](raw: RawSocket): SocketSink {
    this.raw = raw;
    for (const d of this.queue.splice(0)) this.toRaw(raw, d);
    return {
      message: (data) => {
        if (this.state === ReadyState.OPEN) this.peer.receive({ kind: "message", data });
      },
      close: (code, reason, wasClean) => {
        if (this.state === ReadyState.CLOSED) return;
        this.state = ReadyState.CLOSED;
        this.peer.state = ReadyState.CLOSED;
        // 1005 ("no status") is what a close frame without a code means; pass it on as such.
        const d: Delivery = { kind: "close", code, reason, wasClean };
        this.peer.receive(d);
        queueMicrotask(() => this.dispatch(d));
      },
      error: (error) => this.peer.receive({ kind: "error", error }),
    };
  }
}

/** A listener's throw must not stop delivery (nor the process); it goes to the log. */
function reportListenerError(e: unknown): void {
  console.error(
    `PH_ERR_HANDLER WebSocketPair listener: ${e instanceof Error ? e.stack : String(e)}`,
  );
}

/** `new WebSocketPair()`: `{ 0: client, 1: server }`, iterable with Object.values. */
export class WebSocketPair {
  0: PairWebSocket;
  1: PairWebSocket;
  constructor() {
    const client = new PairWebSocket();
    const server = new PairWebSocket();
    client.peer = server;
    server.peer = client;
    this[0] = client;
    this[1] = server;
  }
}

/**
 * The pair end a Response carries for an upgrade (`webSocket`, as on Cloudflare), with the
 * function that connects it to the real socket; undefined for any other response.
 */
export function upgradeSocketOf(
  response: Response,
): { adopt(raw: RawSocket): SocketSink } | undefined {
  const end = (response as Response & { webSocket?: unknown }).webSocket;
  if (!(end instanceof PairWebSocket)) return undefined;
  return { adopt: (raw) => end[kAdopt](raw) };
}
