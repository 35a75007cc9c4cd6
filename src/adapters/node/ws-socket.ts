import type { WebSocket } from "ws";
import type { RawSocket, SocketSink } from "../../core/socket.js";
import type { Logger } from "../../core/log.js";

const BINARY = { binary: true } as const;
const TEXT = { binary: false } as const;

/** Adapts a `ws` WebSocket to the core's RawSocket. */
export function wrapWs(ws: WebSocket): RawSocket {
  return {
    send(data, binary) {
      if (typeof data === "string") ws.send(data);
      else ws.send(data, binary ? BINARY : TEXT);
    },
    close(code, reason) {
      ws.close(code, reason);
    },
    terminate() {
      ws.terminate();
    },
    get readyState() {
      return ws.readyState;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    get protocol() {
      return ws.protocol;
    },
    get extensions() {
      return ws.extensions;
    },
  };
}

/** Feeds a `ws` WebSocket's events into the core's sink. Binary arrives as an ArrayBuffer. */
export function pipeWsEvents(ws: WebSocket, sink: SocketSink, log: Logger): void {
  ws.on("message", (data: Buffer, isBinary: boolean) => {
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
  });
  ws.on("close", (code: number, reason: Buffer) => {
    sink.close(code, reason.toString(), code !== 1006);
  });
  ws.on("error", (error: Error & { code?: string }) => {
    if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
      log.error("PH_ERR_MESSAGE_TOO_LARGE", `closed a connection that sent a message over the size limit (1009)`);
    }
    sink.error(error);
  });
}
