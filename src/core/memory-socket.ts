import { Listeners } from "./listeners.js";
import { toWire } from "./socket-base.js";
import { ReadyState } from "./socket.js";
import type { RawSocket, SocketSink } from "./socket.js";
import type {
  CloseEventLike,
  EventMapLike,
  MessageEventLike,
  OpenEventLike,
  StubSocket,
  WSMessage,
} from "./types.js";

function copyBytes(data: Uint8Array): ArrayBuffer {
  return data.slice().buffer as ArrayBuffer;
}

/**
 * Both ends of an in-process WebSocket: `client` is what a party stub's socket() returns,
 * `server` is the RawSocket the room drives. Delivery is asynchronous (a microtask), as over a
 * network, so neither side re-enters the other's handler.
 */
export function createMemorySocketPair(onListenerError: (e: unknown) => void): {
  client: StubSocket;
  server: RawSocket;
  attach(sink: SocketSink): void;
} {
  let state: number = ReadyState.OPEN;
  let sink: SocketSink | undefined;
  const early: Array<(s: SocketSink) => void> = [];
  const listeners = new Listeners();

  const emit = <K extends keyof EventMapLike>(type: K, event: EventMapLike[K]) => {
    const prop = client[`on${type}` as "onmessage"] as ((e: EventMapLike[K]) => void) | null;
    if (prop) {
      try {
        prop(event as MessageEventLike & EventMapLike[K]);
      } catch (e) {
        onListenerError(e);
      }
    }
    listeners.emit(type, event, onListenerError);
  };
  const toServer = (fn: (s: SocketSink) => void) => {
    queueMicrotask(() => (sink ? fn(sink) : early.push(fn)));
  };
  const finish = (code: number, reason: string, wasClean: boolean) => {
    if (state === ReadyState.CLOSED) return;
    state = ReadyState.CLOSED;
    queueMicrotask(() => {
      const ev: CloseEventLike = { type: "close", code, reason, wasClean, target: client };
      emit("close", ev);
    });
    toServer((s) => s.close(code, reason, wasClean));
  };

  const client: StubSocket = {
    get readyState() {
      return state;
    },
    onmessage: null,
    onclose: null,
    onerror: null,
    onopen: null,
    accept() {},
    send(data: WSMessage) {
      if (state !== ReadyState.OPEN) throw new Error("WebSocket is not open");
      const wire = toWire(data);
      const payload = typeof wire.data === "string" ? wire.data : copyBytes(wire.data);
      toServer((s) => s.message(payload));
    },
    close(code = 1000, reason = "") {
      finish(code, reason, true);
    },
    addEventListener(type, fn, options) {
      listeners.add(type, fn, options?.once === true);
    },
    removeEventListener(type, fn) {
      listeners.remove(type, fn);
    },
  };

  const server: RawSocket = {
    get readyState() {
      return state;
    },
    bufferedAmount: 0,
    protocol: "",
    extensions: "",
    send(data, binary) {
      if (state !== ReadyState.OPEN) return;
      const payload: string | ArrayBuffer =
        typeof data === "string" ? data : binary ? copyBytes(data) : new TextDecoder().decode(data);
      queueMicrotask(() => {
        const ev: MessageEventLike = { type: "message", data: payload, target: client };
        emit("message", ev);
      });
    },
    sendShared(message) {
      server.send(message.data, message.binary);
    },
    close(code = 1000, reason = "") {
      finish(code, reason, true);
    },
    terminate() {
      finish(1006, "", false);
    },
  };

  queueMicrotask(() => {
    const ev: OpenEventLike = { type: "open", target: client };
    emit("open", ev);
  });

  return {
    client,
    server,
    attach(s) {
      sink = s;
      for (const fn of early.splice(0)) fn(s);
    },
  };
}
