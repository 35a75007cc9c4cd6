import { Listeners } from "./listeners.js";
import { ReadyState } from "./socket.js";
import type { Outgoing } from "./outgoing.js";
import type { RawSocket } from "./socket.js";
import type { EventMapLike, WSMessage } from "./types.js";

/** Turns what user code passes to send() into what a RawSocket takes, without copying. */
export function toWire(data: WSMessage): { data: string | Uint8Array; binary: boolean } {
  if (typeof data === "string") return { data, binary: false };
  if (data instanceof ArrayBuffer) return { data: new Uint8Array(data), binary: true };
  if (ArrayBuffer.isView(data)) {
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), binary: true };
  }
  // Cloudflare's send() stringifies anything else; so do we, rather than throwing mid-broadcast.
  return { data: String(data), binary: false };
}

/** A message that will be sent later, with its bytes copied (the caller may reuse its buffer). */
export function copyMessage(msg: WSMessage): WSMessage {
  if (typeof msg === "string") return msg;
  if (msg instanceof ArrayBuffer) return msg.slice(0);
  if (ArrayBuffer.isView(msg)) {
    return new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength).slice();
  }
  return msg;
}

export interface SocketHooks {
  onListenerError(e: unknown): void;
}

/**
 * A server-side WebSocket as user code sees it (Cloudflare's WebSocket shape): send, close,
 * readyState and listeners. Connection and the onSocket FetchSocket build on it.
 */
export class SocketBase {
  // Constants live on the prototype (see below), not on each of 100k connections.
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;
  binaryType: "arraybuffer" | "blob" | "nodebuffer" = "arraybuffer";
  /** Created on the first addEventListener: most connections never get one. */
  protected listeners: Listeners | undefined;

  constructor(
    protected readonly raw: RawSocket,
    protected readonly hooks: SocketHooks,
  ) {}

  get readyState(): number {
    return this.raw.readyState;
  }
  get bufferedAmount(): number {
    return this.raw.bufferedAmount;
  }
  get protocol(): string {
    return this.raw.protocol;
  }
  get extensions(): string {
    return this.raw.extensions;
  }

  send(data: WSMessage): void {
    if (this.raw.readyState !== ReadyState.OPEN) return;
    if (typeof data === "string") {
      this.raw.send(data, false);
      return;
    }
    const wire = toWire(data);
    this.raw.send(wire.data, wire.binary);
  }

  /** @internal one member's share of a broadcast (see outgoing.ts). */
  sendShared(message: Outgoing): void {
    if (this.raw.readyState !== ReadyState.OPEN) return;
    this.raw.sendShared(message);
  }

  close(code?: number, reason?: string): void {
    this.raw.close(code, reason);
  }

  /** @internal drops the connection without a closing handshake. */
  terminate(): void {
    this.raw.terminate();
  }

  accept(): void {
    // Connections reach user code already accepted; Cloudflare code calls accept() anyway.
  }

  addEventListener<K extends keyof EventMapLike>(
    type: K,
    listener: (event: EventMapLike[K]) => void,
    options?: { once?: boolean },
  ): void {
    (this.listeners ??= new Listeners()).add(type, listener, options?.once === true);
  }

  removeEventListener<K extends keyof EventMapLike>(
    type: K,
    listener: (event: EventMapLike[K]) => void,
  ): void {
    this.listeners?.remove(type, listener);
  }

  /** @internal */
  emit<K extends keyof EventMapLike>(type: K, event: EventMapLike[K]): void {
    this.listeners?.emit(type, event, this.hooks.onListenerError);
  }

  /** @internal hibernation drops hand-attached listeners along with the instance. */
  clearListeners(): void {
    this.listeners = undefined;
  }

  /** @internal lets the hot path skip building an event object nobody listens to. */
  hasListeners(type: keyof EventMapLike): boolean {
    return this.listeners !== undefined && this.listeners.has(type);
  }
}

Object.defineProperties(SocketBase.prototype, {
  CONNECTING: { value: ReadyState.CONNECTING },
  OPEN: { value: ReadyState.OPEN },
  CLOSING: { value: ReadyState.CLOSING },
  CLOSED: { value: ReadyState.CLOSED },
});
