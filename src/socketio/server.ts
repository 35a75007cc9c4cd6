import { AsyncResource } from "node:async_hooks";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { Server as EngineServer } from "engine.io";
import { Server as IOServer } from "socket.io";
import type { Namespace, ServerOptions, Socket } from "socket.io";
// PartyhouseError is public API too: partyhouse re-exports it (a leaf module, cheap to load).
import { PartyhouseError } from "../core/errors.js";
import { BUSY, DISPOSE, RAW_HANDLER, RAW_ROUTE } from "../raw-party.js";
import type { RawRequest as NodeRawRequest, RawUpgrade as NodeRawUpgrade } from "../raw-party.js";
import type { Room, Server } from "../server.js";
import { RoomSessionAdapter } from "./adapter.js";
import { socketIORoute } from "./route.js";
import { classify } from "./local-path.js";
import { SOCKETIO_PARTY, socketIOPaths } from "./marker.js";
import type { SocketIOPartyInfo } from "./marker.js";

// socket.io's own EventsMap (not exported from its entry point).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EventsMap = { [event: string]: any };
type DefaultEvents = { [event: string]: (...args: any[]) => void }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The options of a standalone `new Server(opts)`: Socket.IO's and Engine.IO's, all passed through. */
export type SocketIOOptions = Partial<ServerOptions>;

/** Runs once per room instance, before its first request: register handlers on `io`. */
export type SocketIOSetup<
  L extends EventsMap = DefaultEvents,
  E extends EventsMap = L,
  S extends EventsMap = DefaultEvents,
  D = unknown,
> = (io: IOServer<L, E, S, D>, room: Room) => void | Promise<void>;

/**
 * The instance side of a Socket.IO party: a Party.Server that owns one Socket.IO server. Only
 * what it defines is declared, so a subclass adds `onAlarm` and friends without `override`.
 */
export interface SocketIOParty<
  L extends EventsMap = DefaultEvents,
  E extends EventsMap = L,
  S extends EventsMap = DefaultEvents,
  D = unknown,
> {
  readonly room: Room;
  readonly io: IOServer<L, E, S, D>;
  /** Runs `setup(io, room)`; a subclass that overrides it must call `super.onStart()`. */
  onStart(): Promise<void>;
}

/** The class `createServer` returns; use it as a party's default export, or extend it. */
export interface SocketIOPartyClass<
  L extends EventsMap = DefaultEvents,
  E extends EventsMap = L,
  S extends EventsMap = DefaultEvents,
  D = unknown,
> {
  new (room: Room): SocketIOParty<L, E, S, D>;
  readonly [SOCKETIO_PARTY]: SocketIOPartyInfo;
  readonly [RAW_HANDLER]: true;
}

/**
 * A party whose rooms each run a real Socket.IO server (the official `socket.io` package on its
 * own Engine.IO server), reached by the unmodified `socket.io-client` over WebSocket and HTTP
 * long-polling. Clients pick the room with `?partyId=` on the default path, or address it as
 * `/parties/:party/:room/socket.io/` (client option `path`).
 *
 * @example
 * import { createServer } from "partyhouse/socket.io";
 *
 * export default createServer({ connectionStateRecovery: {} }, (io, room) => {
 *   io.on("connection", async (socket) => {
 *     socket.emit("history", (await room.storage.get("history")) ?? []);
 *     socket.on("chat", (text) => io.emit("chat", text));
 *   });
 * });
 */
export function createServer<
  L extends EventsMap = DefaultEvents,
  E extends EventsMap = L,
  S extends EventsMap = DefaultEvents,
  D = unknown,
>(setup: SocketIOSetup<L, E, S, D>): SocketIOPartyClass<L, E, S, D>;
export function createServer<
  L extends EventsMap = DefaultEvents,
  E extends EventsMap = L,
  S extends EventsMap = DefaultEvents,
  D = unknown,
>(options: SocketIOOptions, setup: SocketIOSetup<L, E, S, D>): SocketIOPartyClass<L, E, S, D>;
export function createServer(
  optionsOrSetup: SocketIOOptions | SocketIOSetup,
  maybeSetup?: SocketIOSetup,
): SocketIOPartyClass {
  const setup = typeof optionsOrSetup === "function" ? optionsOrSetup : maybeSetup;
  const options = typeof optionsOrSetup === "function" ? {} : optionsOrSetup;
  if (typeof options !== "object" || options === null) {
    throw new PartyhouseError(
      "PH_ERR_SOCKETIO_OPTIONS",
      `createServer(options, setup): options must be an object of Socket.IO server options, got ${options === null ? "null" : typeof options}`,
    );
  }
  if (typeof setup !== "function") {
    throw new PartyhouseError(
      "PH_ERR_SOCKETIO_OPTIONS",
      'createServer needs a setup function: createServer((io, room) => { io.on("connection", …) })',
    );
  }
  const frozen = Object.freeze({ ...options });
  const info = Object.freeze(socketIOPaths(frozen.path, frozen.addTrailingSlash));
  const run: SocketIOSetup = setup;

  return class SocketIORoom implements SocketIOParty, Server {
    static readonly [SOCKETIO_PARTY] = info;
    static readonly [RAW_HANDLER] = true as const;
    /** `<path>/?partyId=` (or `partyID`) reaches a room of this party; see route.ts. */
    static readonly [RAW_ROUTE] = socketIORoute(info);

    readonly io: IOServer;
    private readonly engine: EngineServer;
    /** Requests and sockets handed over by the platform and still open (a handshake under way). */
    private readonly open = new Set<object>();

    constructor(readonly room: Room) {
      // socket.io writes defaults into the object it is given, so each room gets its own copy.
      const opts: SocketIOOptions = { ...frozen };
      if (opts.connectionStateRecovery && opts.adapter === undefined) {
        opts.connectionStateRecovery = { ...opts.connectionStateRecovery };
        opts.adapter = RoomSessionAdapter as unknown as SocketIOOptions["adapter"];
      }
      this.io = new IOServer(opts);
      // What `io.attach(httpServer)` does, minus the http server: the engine gets every option.
      this.engine = new EngineServer(this.io._opts);
      this.io.bind(this.engine);
      dispatchInRoomContext(this.io);
    }

    onStart(): Promise<void> {
      return Promise.resolve(run(this.io, this.room));
    }

    [RAW_HANDLER](kind: "request" | "upgrade", raw: unknown): void {
      if (kind === "request") this.request(raw as NodeRawRequest);
      else this.upgrade(raw as NodeRawUpgrade);
    }

    /**
     * The room stays while an Engine.IO client is connected, a request is in flight, or a
     * disconnected client may still recover its session (connection state recovery).
     */
    [BUSY](): boolean {
      return this.open.size > 0 || this.engine.clientsCount > 0 || this.recoverable();
    }

    /**
     * Shutdown and code reload: closes every Socket.IO socket (clients see a transport close and
     * reconnect, to the new code after a reload) and the engine, and stops the adapters' timers.
     */
    [DISPOSE](): void {
      void this.io.close();
    }

    private request({ req, res }: NodeRawRequest): void {
      checkNode(req, res);
      this.track(res, res.destroyed || res.writableFinished);
      const target = classify(req.url ?? "/", info);
      if (target.kind === "engine") {
        this.engine.handleRequest(req, res);
      } else if (target.kind === "client" && this.io.serveClient()) {
        this.serveClient(target.file, req, res);
      } else {
        // What the http.Server of a standalone `new Server(port)` answers for any other path.
        res.writeHead(404);
        res.end();
      }
    }

    private upgrade({ req, socket, head }: NodeRawUpgrade): void {
      checkNode(req, socket);
      this.track(socket, socket.destroyed);
      if (classify(req.url ?? "/", info).kind === "engine") {
        this.engine.handleUpgrade(req, socket, head);
        return;
      }
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    }

    private track(target: ServerResponse | Duplex, closed: boolean): void {
      if (closed) return;
      this.open.add(target);
      target.once("close", () => this.open.delete(target));
    }

    /** `/socket.io/socket.io.js` and friends, as `io.attach(httpServer)` serves them. */
    private serveClient(file: string, req: IncomingMessage, res: ServerResponse): void {
      const io = this.io as unknown as {
        serve(file: string, req: IncomingMessage, res: ServerResponse): void;
        _corsMiddleware?: (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
      };
      if (io._corsMiddleware) io._corsMiddleware(req, res, () => io.serve(file, req, res));
      else io.serve(file, req, res);
    }

    private recoverable(): boolean {
      const recovery = this.io._opts.connectionStateRecovery;
      if (!recovery) return false;
      const horizon = Date.now() - (recovery.maxDisconnectionDuration ?? 0);
      for (const nsp of this.io._nsps.values()) {
        const sessions = (nsp.adapter as unknown as { sessions?: unknown }).sessions;
        if (!(sessions instanceof Map)) continue;
        for (const session of sessions.values() as Iterable<{ disconnectedAt?: number }>) {
          if ((session.disconnectedAt ?? 0) >= horizon) return true;
        }
      }
      return false;
    }
  } as unknown as SocketIOPartyClass;
}

/** Only the Node adapter hands raw transports over; anything else is a wiring bug. */
function checkNode(req: unknown, out: unknown): void {
  if (
    typeof req !== "object" ||
    req === null ||
    typeof (req as { url?: unknown }).url !== "string" ||
    typeof out !== "object" ||
    out === null ||
    typeof (out as { once?: unknown }).once !== "function"
  ) {
    throw new PartyhouseError(
      "PH_ERR_SOCKETIO_TRANSPORT",
      "the Socket.IO party needs Node's raw request (req/res or req/socket/head); this server adapter does not provide it",
    );
  }
}

/**
 * Socket.IO dispatches a packet to its handlers from the transport's async context, not the
 * room's, so partyhouse's fault isolation could not tell which room a stray rejection in
 * `socket.on(…)` came from. The constructor runs in the room's context: an AsyncResource made
 * there lets a first socket middleware (of every namespace) let the packet go on inside it, and
 * Socket.IO schedules the handler from there. Connection and disconnect handlers are not covered.
 */
function dispatchInRoomContext(io: IOServer): void {
  const roomContext = new AsyncResource("partyhouse.socketio.room");
  const onConnection = (socket: Socket) =>
    socket.use((_packet, next) => roomContext.runInAsyncScope(next));
  io.of("/").on("connection", onConnection);
  io.on("new_namespace", (nsp: Namespace) => nsp.on("connection", onConnection));
}
