import * as wsModule from "ws";
import type { WebSocket } from "ws";
import type { Outgoing } from "../../core/outgoing.js";
import type { RawSocket, SocketSink } from "../../core/socket.js";
import type { Logger } from "../../core/log.js";

const BINARY = { binary: true } as const;
const TEXT = { binary: false } as const;

/** The TCP socket under a `ws` WebSocket (ws keeps it in a private field). */
interface CorkableSocket {
  cork(): void;
  uncork(): void;
  write(data: Buffer): boolean;
}

/** The parts of ws's Sender (not in its type declarations) that a prepared broadcast relies on. */
interface SenderInternals {
  _state: number;
  _firstFragment: boolean;
}
type FrameFn = (data: Buffer, options: object) => Buffer[];
const frameOf: FrameFn = (wsModule as unknown as { Sender: { frame: FrameFn } }).Sender.frame;

/** A broadcast message framed once: the whole frame, and its payload for the slow path. */
interface PreparedFrame {
  frame: Buffer;
  payload: Buffer;
  binary: boolean;
}

/** This adapter's identity on a shared Outgoing message (see core/outgoing.ts). */
const FRAMER = Symbol("partyhouse.ws-frame");

/**
 * Frames a broadcast once (server frames are not masked, so every member gets the same bytes):
 * one buffer instead of a header and a two-buffer write per member. The copy also means a user
 * who reuses their buffer after broadcast() cannot change what is still queued.
 */
function prepareFrame(data: Uint8Array, binary: boolean): PreparedFrame {
  const payload = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const parts = frameOf(payload, {
    fin: true,
    rsv1: false,
    opcode: binary ? 2 : 1,
    mask: false,
    readOnly: false,
  });
  const frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return { frame, payload: frame.subarray(frame.length - payload.length), binary };
}

/** Sockets corked in this tick, uncorked together at its end (or sooner, past a bound). */
const corked: WsRawSocket[] = [];
/**
 * A broadcast to many thousands of sockets in one tick would otherwise hold every frame until the
 * loop ends; flushing every so many sockets lets the first ones leave while the loop goes on.
 */
const MAX_CORKED = 4096;

function uncorkAll(): void {
  for (let i = 0; i < corked.length; i++) {
    const raw = corked[i]!;
    raw.corked = false;
    raw.socket?.uncork();
  }
  corked.length = 0;
}

/**
 * Adapts a `ws` WebSocket to the core's RawSocket. A class rather than an object of closures:
 * one of these lives per connection, and shared prototype methods keep idle connections small.
 *
 * Sends are coalesced: the first send in a tick corks the TCP socket and the end of the tick
 * uncorks it, so every frame one tick produces for a socket (the echoes of a batch of messages
 * that arrived in one read, several broadcasts) leaves in one writev. A busy server spends its
 * time in that syscall, not in JavaScript (88% of the echo flood profile in BENCHMARKS.md was
 * writev). A lone message still leaves at the end of the tick that produced it.
 */
class WsRawSocket implements RawSocket {
  corked = false;
  readonly socket: CorkableSocket | undefined;

  constructor(
    private readonly ws: WebSocket,
    /** Shared by every socket of a server: one pointer each, not two fields. */
    private readonly policy: SendPolicy,
  ) {
    this.socket = (ws as unknown as { _socket?: CorkableSocket })._socket;
  }

  /**
   * The slow-consumer rule, enforced where the bytes queue: a client that stopped reading is
   * closed with 1008 once its send buffer passes the bound; the room hears an ordinary close.
   */
  private checkBuffer(): void {
    const queued = this.ws.bufferedAmount;
    if (queued <= this.policy.maxBufferedBytes || this.ws.readyState !== 1) return;
    this.policy.log.error(
      "PH_ERR_SLOW_CONSUMER",
      `closing a connection with ${queued} bytes unsent (limit ${this.policy.maxBufferedBytes})`,
    );
    this.ws.close(1008, "Slow consumer: too many unsent bytes");
  }

  private cork(): void {
    if (!this.corked && this.socket !== undefined) {
      this.corked = true;
      this.socket.cork();
      if (corked.push(this) === 1) process.nextTick(uncorkAll);
      else if (corked.length >= MAX_CORKED) uncorkAll();
    }
  }

  send(data: string | Uint8Array, binary: boolean): void {
    this.cork();
    if (typeof data === "string") this.ws.send(data);
    else this.ws.send(data, binary ? BINARY : TEXT);
    this.checkBuffer();
  }

  /** A broadcast: framed by the first socket of this adapter that sends it, reused by the rest. */
  sendShared(message: Outgoing): void {
    let frame = message.frameOwner === FRAMER ? (message.frame as PreparedFrame) : undefined;
    if (frame === undefined) {
      frame = prepareFrame(message.bytes, message.binary);
      message.frameOwner = FRAMER;
      message.frame = frame;
    }
    this.sendFrame(frame);
    this.checkBuffer();
  }

  private sendFrame(p: PreparedFrame): void {
    const sender = (this.ws as unknown as { _sender?: SenderInternals })._sender;
    // Write the bytes ourselves only when ws's sender is idle between whole messages (its state
    // 0 is DEFAULT: nothing queued behind a compression or a Blob read); else let ws order it.
    if (
      this.socket === undefined ||
      sender === undefined ||
      sender._state !== 0 ||
      !sender._firstFragment
    ) {
      this.cork();
      this.ws.send(p.payload, p.binary ? BINARY : TEXT);
      return;
    }
    this.cork();
    this.socket.write(p.frame);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }
  terminate(): void {
    this.ws.terminate();
  }
  get readyState(): number {
    return this.ws.readyState;
  }
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
  get protocol(): string {
    return this.ws.protocol;
  }
  get extensions(): string {
    return this.ws.extensions;
  }
}

/** What every socket of one server shares: the send buffer bound and where to log. */
export interface SendPolicy {
  readonly maxBufferedBytes: number;
  readonly log: Logger;
}

/** Adapts a `ws` WebSocket to the core's RawSocket. */
export function wrapWs(ws: WebSocket, policy: SendPolicy): RawSocket {
  return new WsRawSocket(ws, policy);
}

/** Where the shared listeners below find a socket's sink (one field instead of three closures). */
const kSink = Symbol("partyhouse.sink");
const kLog = Symbol("partyhouse.log");
interface PipedWs {
  [kSink]: SocketSink;
  [kLog]: Logger;
}

function piped(ws: WebSocket): PipedWs {
  return ws as unknown as PipedWs;
}

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const sink = piped(this)[kSink];
  if (!isBinary) {
    sink.message(data.toString());
    return;
  }
  // ws may hand us a view into a larger pooled buffer; the party must get exactly its bytes.
  const ab =
    data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
      ? (data.buffer as ArrayBuffer)
      : (data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
  sink.message(ab);
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  piped(this)[kSink].close(code, reason.toString(), code !== 1006);
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
    piped(this)[kLog].error(
      "PH_ERR_MESSAGE_TOO_LARGE",
      `closed a connection that sent a message over the size limit (1009)`,
    );
  }
  piped(this)[kSink].error(error);
}

/**
 * Feeds a `ws` WebSocket's events into the core's sink. Binary arrives as an ArrayBuffer. The
 * listeners are shared by every socket (ws calls them with `this` set to the socket).
 */
export function pipeWsEvents(ws: WebSocket, sink: SocketSink, log: Logger): void {
  const target = piped(ws);
  target[kSink] = sink;
  target[kLog] = log;
  ws.on("message", onMessage);
  ws.on("close", onClose);
  ws.on("error", onError);
}
