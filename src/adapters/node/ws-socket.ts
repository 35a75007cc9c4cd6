import type { WebSocket } from "ws";
import type { RawSocket, SocketSink } from "../../core/socket.js";
import type { Logger } from "../../core/log.js";

const BINARY = { binary: true } as const;
const TEXT = { binary: false } as const;

/** The TCP socket under a `ws` WebSocket (ws keeps it in a private field). */
interface CorkableSocket {
  cork(): void;
  uncork(): void;
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

  constructor(private readonly ws: WebSocket) {
    this.socket = (ws as unknown as { _socket?: CorkableSocket })._socket;
  }

  send(data: string | Uint8Array, binary: boolean): void {
    if (!this.corked && this.socket !== undefined) {
      this.corked = true;
      this.socket.cork();
      if (corked.push(this) === 1) process.nextTick(uncorkAll);
      else if (corked.length >= MAX_CORKED) uncorkAll();
    }
    if (typeof data === "string") this.ws.send(data);
    else this.ws.send(data, binary ? BINARY : TEXT);
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

/** Adapts a `ws` WebSocket to the core's RawSocket. */
export function wrapWs(ws: WebSocket): RawSocket {
  return new WsRawSocket(ws);
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
