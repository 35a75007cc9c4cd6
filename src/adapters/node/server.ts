import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { createServer as createNetServer } from "node:net";
import type { AddressInfo, Server as NetServer } from "node:net";
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { WebSocketServer } from "ws";
import type { WebSocket } from "ws";
import { HANDLED } from "../../core/wire/app.js";
import type { PartyApp, UpgradeResult } from "../../core/wire/app.js";
import { upgradeSocketOf } from "../../compat/websocket-pair.js";
import { CloseCode } from "../../core/close-codes.js";
import { errorMessage, PartyhouseError } from "../../core/errors.js";
import type { Limits } from "../../core/limits.js";
import type { Logger } from "../../core/log.js";
import { ConnectionLimiter } from "./connection-limits.js";
import { connectionCap } from "./fd-limit.js";
import { HardenedWebSocket, onPong } from "./hardened-ws.js";
import { startHeartbeat } from "./heartbeat.js";
import { checkNodeOrigin } from "./node-gate.js";
import { toWebRequest } from "./request.js";
import { writeUpgradeRefusal, writeWebResponse } from "./response.js";
import { pipeWsEvents, wrapWs } from "./ws-socket.js";

/** What a raw party (Socket.IO) receives: the shapes of the public raw-party contract. */
export type {
  RawRequest as NodeRawRequest,
  RawUpgrade as NodeRawUpgrade,
} from "../../raw-party.js";
import type {
  RawRequest as NodeRawRequest,
  RawUpgrade as NodeRawUpgrade,
} from "../../raw-party.js";

/** Process-level additions (the CLI's ops layer); every field is optional. */
export interface NodeServerHooks {
  /** Serve HTTPS with this PEM key and certificate. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Take `X-Forwarded-Proto`/`X-Forwarded-Host` into `request.url` (behind a reverse proxy). */
  trustProxy?: boolean;
  /** Runs first for every HTTP request; returning true means it answered the request itself. */
  intercept?(req: IncomingMessage, res: ServerResponse): boolean;
  /** Sees every accepted WebSocket (counters, logs) before the room does. */
  onWebSocket?(ws: WebSocket, req: IncomingMessage): void;
}

export interface NodeServerOptions extends NodeServerHooks {
  limits: Readonly<
    Pick<
      Limits,
      | "maxMessageBytes"
      | "maxBufferedBytes"
      | "headersTimeoutMs"
      | "requestTimeoutMs"
      | "heartbeatIntervalMs"
      | "heartbeatTimeoutMs"
      | "maxConnections"
      | "maxConnectionsPerIp"
      | "startTimeoutMs"
      | "connectTimeoutMs"
    >
  >;
  log: Logger;
  /**
   * The cluster secret (PARTYHOUSE_CLUSTER_SECRET): requests signed with it come from another node
   * and skip onBefore*; without it every request claiming to come from a node is refused (403).
   */
  clusterSecret?: string;
}

/** A running partyhouse HTTP + WebSocket server on node:http and ws. */
export interface NodeServer {
  readonly server: Server;
  listen(port: number, host: string): Promise<AddressInfo>;
  /**
   * A second listener of this process alone, for the other workers of `--workers` (the main port
   * is shared by all of them through node:cluster, so a request forwarded to it could land on any
   * worker). Its connections are served exactly as the main port's.
   */
  listenNode(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting, lets `beforeClose` close rooms, then ends every connection. */
  close(beforeClose?: () => Promise<void>, graceMs?: number): Promise<void>;
}

/**
 * Wires a PartyApp to node:http and ws (`noServer`, so the app decides each upgrade), with the
 * connection limits of README "Limits and hardening": header and request timeouts, connection
 * caps (global and per address), a WebSocket heartbeat and a deadline for deciding an upgrade.
 */
export function createNodeServer(app: PartyApp, options: NodeServerOptions): NodeServer {
  const { log, limits } = options;
  const sendPolicy = { maxBufferedBytes: limits.maxBufferedBytes, log };
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxMessageBytes,
    perMessageDeflate: false,
    clientTracking: true,
    // workerd (so PartyKit, in dev and deployed) decodes a text frame that is not valid UTF-8
    // with U+FFFD replacements and delivers it; it does not fail the connection with 1007.
    skipUTF8Validation: true,
    WebSocket: HardenedWebSocket,
  });
  const stopHeartbeat = startHeartbeat(
    wss.clients as Set<HardenedWebSocket>,
    limits.heartbeatIntervalMs,
    limits.heartbeatTimeoutMs,
  );
  const maxConnections = connectionCap(limits.maxConnections);
  if (maxConnections < limits.maxConnections) {
    log.warn(
      `maxConnections lowered from ${limits.maxConnections} to ${maxConnections} to fit the open-file limit (ulimit -n); raise it to accept more`,
    );
  }
  const limiter = new ConnectionLimiter(maxConnections, limits.maxConnectionsPerIp, log);

  // Node refuses a headersTimeout above requestTimeout; the header limit is the tighter one.
  const requestTimeout = limits.requestTimeoutMs;
  const headersTimeout = Math.min(limits.headersTimeoutMs, requestTimeout);
  const httpOptions = {
    requestTimeout,
    headersTimeout,
    // How often Node checks those two timeouts (its default, 30 s, would let a slow client
    // hold on for up to 30 s past them).
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(headersTimeout / 4))),
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (options.intercept?.(req, res)) return;
    void handleRequest(req, res);
  };
  const server: Server = options.tls
    ? (createTlsServer({ ...httpOptions, ...options.tls }, onRequest) as unknown as Server)
    : createServer(httpOptions, onRequest);
  const secure = options.tls !== undefined;
  const trustProxy = options.trustProxy === true;
  // Requests being answered, so shutdown can wait for them instead of cutting them.
  const inflight = new Set<ServerResponse>();
  // Keep-alive sockets must not hold a shutdown open forever.
  server.keepAliveTimeout = 5000;
  server.on("connection", (socket: Socket) => limiter.admit(socket, headersTimeout));

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The connection spoke: from here on Node's own timeouts (request, keep-alive) apply.
    req.socket.setTimeout(0);
    const node = checkNodeOrigin(req, options.clusterSecret, log);
    if (limiter.isRefused(req.socket, typeof node === "string")) {
      res.writeHead(503, { "content-type": "text/plain", connection: "close", "retry-after": "1" });
      res.end("Too many connections, try again later");
      return;
    }
    inflight.add(res);
    res.once("close", () => inflight.delete(res));
    try {
      if (node instanceof Response) return await writeWebResponse(res, node);
      const request = toWebRequest(req, secure, trustProxy, node);
      const raw: NodeRawRequest = { req, res };
      const response = await app.fetch(request, raw, node === undefined ? "client" : "node");
      if (response === HANDLED) return;
      if (response.status < 200) {
        // What workerd answers for a WebSocketPair end (or any 1xx) returned to a plain request.
        log.error(
          "PH_ERR_NOT_AN_UPGRADE",
          `${req.method} ${req.url} was answered with ${response.status}`,
        );
        res.statusCode = 500;
        res.end(
          "Worker tried to return a WebSocket in a response to a request which did not request a WebSocket.",
        );
        return;
      }
      await writeWebResponse(res, response, req.method === "HEAD");
    } catch (e) {
      const status = e instanceof PartyhouseError && e.status < 500 ? e.status : 500;
      const code = e instanceof PartyhouseError ? e.code : "PH_ERR_INTERNAL";
      log.error(code, `request ${req.method} ${req.url}: ${errorMessage(e)}`);
      if (!res.headersSent) {
        res.statusCode = status;
        res.end(status === 500 ? "Internal Server Error" : errorMessage(e));
      } else res.destroy();
    }
  }

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    // The upgrade has its own deadline (decideUpgrade); ws turns the socket timeout off too.
    (socket as Socket).setTimeout(0);
    void handleUpgrade(req, socket, head);
  });

  /** Accepts the WebSocket only to close it at once: how a WebSocket client learns "try later". */
  function acceptAndClose(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    code: number,
    reason: string,
  ) {
    wss.handleUpgrade(req, socket, head, (ws) => ws.close(code, reason));
  }

  /**
   * The upgrade's decision (onBeforeConnect, onStart), bounded: past startTimeoutMs +
   * connectTimeoutMs (the room's own deadlines, which reset it, come first) the client gets 500.
   */
  function decideUpgrade(
    request: Request,
    raw: NodeRawUpgrade,
    node: string | undefined,
  ): Promise<UpgradeResult> {
    const ms = limits.startTimeoutMs + limits.connectTimeoutMs;
    return new Promise<UpgradeResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        log.error("PH_ERR_TIMEOUT", `upgrade ${raw.req.url}: not decided within ${ms} ms`);
        resolve({
          kind: "response",
          response: new Response(`Upgrade not decided within ${ms} ms`, { status: 500 }),
        });
      }, ms);
      timer.unref();
      app.upgrade(request, raw, node === undefined ? "client" : "node").then(
        (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const node = checkNodeOrigin(req, options.clusterSecret, log);
    if (limiter.isRefused(req.socket, typeof node === "string")) {
      acceptAndClose(req, socket, head, CloseCode.TRY_AGAIN, "Too many connections");
      return;
    }
    let request: Request;
    if (node instanceof Response) return writeUpgradeRefusal(socket, node);
    try {
      request = toWebRequest(req, secure, trustProxy, node);
    } catch (e) {
      const status = e instanceof PartyhouseError ? e.status : 400;
      log.error("PH_ERR_BAD_REQUEST", `upgrade ${req.url}: ${errorMessage(e)}`);
      await writeUpgradeRefusal(socket, new Response(errorMessage(e), { status }));
      return;
    }
    try {
      const raw: NodeRawUpgrade = { req, socket, head };
      const result = await decideUpgrade(request, raw, node);
      if (result.kind === "handled") return;
      if (result.kind === "response") {
        // workerd's way to accept an upgrade by hand: 101 with a WebSocketPair end (party.io).
        const pair = result.response.status === 101 ? upgradeSocketOf(result.response) : undefined;
        if (pair === undefined) {
          await writeUpgradeRefusal(socket, result.response);
          return;
        }
        if (socket.destroyed) return;
        wss.handleUpgrade(req, socket, head, (ws) =>
          pipeWsEvents(ws, pair.adopt(wrapWs(ws, sendPolicy)), log),
        );
        return;
      }
      if (socket.destroyed) return;
      wss.handleUpgrade(req, socket, head, (ws) => {
        options.onWebSocket?.(ws, req);
        ws.on("pong", onPong);
        const sink = result.attach(wrapWs(ws, sendPolicy));
        pipeWsEvents(ws, sink, log);
      });
    } catch (e) {
      log.error("PH_ERR_INTERNAL", `upgrade ${req.url}: ${errorMessage(e)}`);
      socket.destroy();
    }
  }

  let nodeListener: NetServer | undefined;
  return {
    server,
    listenNode(port, host) {
      // `exclusive`: in a node:cluster worker a plain listen would share this port with the others.
      const listener = createNetServer((socket) => server.emit("connection", socket));
      nodeListener = listener;
      return new Promise((resolve, reject) => {
        listener.once("error", reject);
        listener.listen({ port, host, exclusive: true }, () => {
          listener.off("error", reject);
          resolve(listener.address() as AddressInfo);
        });
      });
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async close(beforeClose, graceMs = 2000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      nodeListener?.close();
      server.closeIdleConnections();
      if (beforeClose) await beforeClose();
      // Give clients a moment to answer the 1012 close frames and in-flight requests time to be
      // answered (rooms refuse new ones with 503), then drop whoever is left.
      const deadline = Date.now() + graceMs;
      while ((wss.clients.size > 0 || inflight.size > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      // Past the grace period: a request not answered yet gets 503, not a dropped connection.
      const refused: Array<Promise<unknown>> = [];
      for (const res of inflight) {
        log.error(
          "PH_ERR_SHUTDOWN",
          `request ${res.req.method} ${res.req.url} still running after ${graceMs} ms; answered 503`,
        );
        if (res.headersSent) continue;
        refused.push(new Promise((r) => res.once("finish", r)));
        res.writeHead(503, {
          "content-type": "text/plain; charset=utf-8",
          connection: "close",
          "retry-after": "1",
        });
        res.end("Service Unavailable: the server is shutting down\n");
      }
      if (refused.length > 0) {
        await Promise.race([Promise.all(refused), new Promise((r) => setTimeout(r, 500))]);
      }
      for (const ws of wss.clients) ws.terminate();
      stopHeartbeat();
      server.closeAllConnections();
      await closed;
    },
  };
}
