/**
 * The Node forwarder: carries a request for a room another node owns to that node and the answer
 * back, streaming both ways (node:http, no buffering of bodies). HTTP requests are re-issued over a
 * keep-alive pool; WebSocket upgrades (Socket.IO's included) are re-issued on a fresh connection,
 * and once the owner answers 101 the two TCP sockets are piped to each other, so frames, close
 * codes and reasons pass through untouched. Every forwarded request is signed (node-auth.ts).
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import type { Duplex } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { WebSocket } from "ws";
import { errorMessage, PartyhouseError } from "../../core/errors.js";
import { ERROR_CODE_HEADER, NOT_OWNER } from "../../core/room/forwarding.js";
import type { Forwarder, NotOwner } from "../../core/room/forwarding.js";
import type { Logger } from "../../core/log.js";
import type { RawSocket, SocketSink } from "../../core/wire/socket.js";
import { NODE_HEADER_PREFIX, signNodeHeaders } from "./node-auth.js";
import { writeUpgradeRefusal } from "./response.js";

/** Headers of one connection, not of the request (RFC 9110 §7.6.1), plus our own node headers. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  // The receiving node already answered the client's 100-continue.
  "expect",
]);
/** What a WebSocket client library sets itself on a stub's socket. */
const WS_OWN = /^sec-websocket-(key|version|extensions)$/;
/** A refusal before 101 is read whole to pass it on; past this it is cut. */
const MAX_REFUSAL_BYTES = 64 * 1024;

export interface NodeForwarder extends Forwarder {
  /** Cuts every forwarded WebSocket and idle pooled connection (server shutdown). */
  close(): void;
}

interface RawHttp {
  req: IncomingMessage;
  res: ServerResponse;
}
interface RawUpgrade {
  socket: Duplex;
  head: Buffer;
}

function connectionTokens(headers: Headers): Set<string> {
  const named = headers.get("connection");
  return new Set(named ? named.split(",").map((t) => t.trim().toLowerCase()) : []);
}

/** The request's end-to-end headers, to re-issue; `upgrade` keeps the handshake headers. */
function forwardHeaders(request: Request, target: URL, upgrade: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const listed = connectionTokens(request.headers);
  for (const [name, value] of request.headers) {
    if (HOP_BY_HOP.has(name) || listed.has(name) || name.startsWith(NODE_HEADER_PREFIX)) continue;
    if (name === "set-cookie") continue;
    out[name] = value;
  }
  // The owner builds the same URL the receiving node saw (the room reads it).
  out.host = target.host;
  if (upgrade) {
    out.connection = "Upgrade";
    out.upgrade = request.headers.get("upgrade") ?? "websocket";
  }
  return out;
}

function responseHeaders(res: IncomingMessage): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const listed = new Set(
    (typeof res.headers.connection === "string" ? res.headers.connection : "")
      .split(",")
      .map((t) => t.trim().toLowerCase()),
  );
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function isNotOwner(res: IncomingMessage): boolean {
  return res.statusCode === 503 && res.headers[ERROR_CODE_HEADER] === "PH_ERR_NOT_OWNER";
}

/** Statuses (and HEAD) whose Web Response must not have a body. */
function bodiless(status: number, method: string): boolean {
  return method === "HEAD" || status === 204 || status === 205 || status === 304 || status < 200;
}

function readCapped(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (c: Buffer) => {
      if (size >= MAX_REFUSAL_BYTES) return;
      chunks.push(c);
      size += c.length;
    });
    res.on("end", () => resolve(Buffer.concat(chunks).subarray(0, MAX_REFUSAL_BYTES)));
    res.on("error", () => resolve(Buffer.concat(chunks)));
  });
}

/** The 101 as the owner sent it, for the client. */
function switchingHead(res: IncomingMessage): string {
  const lines = [`HTTP/1.1 101 ${res.statusMessage || "Switching Protocols"}`];
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  return lines.join("\r\n") + "\r\n\r\n";
}

/**
 * How long an owner may take to answer a forwarded upgrade (its 101 or a refusal). A paused owner
 * (SIGSTOP, a long GC pause) would otherwise hold the handshake until the host's own limit; past
 * this the owner counts as "not the owner", so the room is looked up again (and, once its lease
 * runs out, claimed by a live node).
 */
const OWNER_ANSWER_MS = 5000;

export function createNodeForwarder(options: {
  secret: string;
  log: Logger;
  ownerAnswerMs?: number;
}): NodeForwarder {
  const { secret, log } = options;
  const ownerAnswerMs = options.ownerAnswerMs ?? OWNER_ANSWER_MS;
  const httpAgent = new HttpAgent({ keepAlive: true, maxFreeSockets: 64 });
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxFreeSockets: 64 });
  const piped = new Set<Duplex>();
  const stubSockets = new Set<WebSocket>();

  function issue(
    owner: URL,
    method: string,
    path: string,
    headers: OutgoingHttpHeaders,
    pool: boolean,
  ) {
    const https = owner.protocol === "https:";
    return (https ? httpsRequest : httpRequest)({
      protocol: owner.protocol,
      hostname: owner.hostname.replace(/^\[|\]$/g, ""),
      port: owner.port || (https ? 443 : 80),
      method,
      path,
      headers,
      agent: pool ? (https ? httpsAgent : httpAgent) : false,
    });
  }

  function signed(
    request: Request,
    upgrade: boolean,
  ): { target: URL; path: string; headers: OutgoingHttpHeaders } {
    const target = new URL(request.url);
    const path = target.pathname + target.search;
    const headers = forwardHeaders(request, target, upgrade);
    Object.assign(headers, signNodeHeaders(secret, request.method, path, target.origin));
    return { target, path, headers };
  }

  async function fetch(
    url: string,
    request: Request,
    raw?: unknown,
  ): Promise<Response | "handled" | NotOwner> {
    const { path, headers } = signed(request, false);
    const body = request.body;
    const up = issue(new URL(url), request.method, path, headers, true);
    const answered = new Promise<IncomingMessage>((resolve, reject) => {
      up.once("response", resolve);
      up.once("error", reject);
    });
    if (body === null) up.end();
    else {
      const source = Readable.fromWeb(body as WebReadableStream);
      source.once("error", (e) => up.destroy(e));
      source.pipe(up);
    }
    let res: IncomingMessage;
    try {
      res = await answered;
    } catch (e) {
      log.warn(`forwarding ${request.method} ${path} to ${url}: ${errorMessage(e)}`);
      // Nothing reached the client yet; a request without a body can go to a re-resolved owner.
      if (body === null) return NOT_OWNER;
      throw new PartyhouseError(
        "PH_ERR_NOT_OWNER",
        `the owner of ${path} (${url}) could not be reached: ${errorMessage(e)}`,
        { status: 503 },
      );
    }
    if (body === null && isNotOwner(res)) {
      res.resume();
      return NOT_OWNER;
    }
    const http = raw as RawHttp | undefined;
    if (http?.res !== undefined) {
      const out = http.res;
      out.writeHead(res.statusCode ?? 502, res.statusMessage, responseHeaders(res));
      res.pipe(out);
      res.once("error", (e) => {
        log.error("PH_ERR_FORWARD", `${request.method} ${path} from ${url}: ${errorMessage(e)}`);
        out.destroy();
      });
      // A client that goes away stops the owner's answer too.
      out.once("close", () => {
        if (!res.complete) up.destroy();
      });
      return "handled";
    }
    const status = res.statusCode ?? 502;
    const h = new Headers();
    for (const [name, value] of Object.entries(responseHeaders(res))) {
      for (const v of Array.isArray(value) ? value : [String(value)]) h.append(name, v);
    }
    if (bodiless(status, request.method)) {
      res.resume();
      return new Response(null, { status, statusText: res.statusMessage, headers: h });
    }
    return new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, {
      status,
      statusText: res.statusMessage,
      headers: h,
    });
  }

  function upgrade(url: string, request: Request, raw: unknown): Promise<"handled" | NotOwner> {
    const { socket: client, head } = raw as RawUpgrade;
    const { path, headers } = signed(request, true);
    const up = issue(new URL(url), "GET", path, headers, false);
    return new Promise((resolve) => {
      up.setTimeout(ownerAnswerMs, () =>
        up.destroy(new Error(`the owner did not answer within ${ownerAnswerMs} ms`)),
      );
      up.once("upgrade", (res: IncomingMessage, owner: Socket, ownerHead: Buffer) => {
        // Piped from here on: an idle WebSocket is no reason to cut it.
        owner.setTimeout(0);
        if (client.destroyed || !client.writable) {
          owner.destroy();
          resolve("handled");
          return;
        }
        owner.setNoDelay(true);
        (client as Socket).setNoDelay?.(true);
        client.write(switchingHead(res));
        if (ownerHead.length > 0) client.write(ownerHead);
        if (head.length > 0) owner.write(head);
        piped.add(client);
        const cut = () => {
          piped.delete(client);
          client.destroy();
          owner.destroy();
        };
        owner.on("error", cut).on("close", cut);
        client.on("error", cut).on("close", cut);
        owner.pipe(client);
        client.pipe(owner);
        resolve("handled");
      });
      up.once("response", (res: IncomingMessage) => {
        if (isNotOwner(res)) {
          res.resume();
          resolve(NOT_OWNER);
          return;
        }
        void readCapped(res).then(async (body) => {
          const h = new Headers();
          for (const [name, value] of Object.entries(responseHeaders(res))) {
            for (const v of Array.isArray(value) ? value : [String(value)]) h.append(name, v);
          }
          const status = res.statusCode ?? 502;
          await writeUpgradeRefusal(
            client,
            new Response(bodiless(status, "GET") ? null : new Uint8Array(body), {
              status,
              headers: h,
            }),
          );
          resolve("handled");
        });
      });
      up.once("error", (e) => {
        log.warn(`forwarding the upgrade ${path} to ${url}: ${errorMessage(e)}`);
        resolve(NOT_OWNER);
      });
      up.end();
    });
  }

  function connect(
    url: string,
    request: Request,
    socket: RawSocket,
  ): Promise<SocketSink | NotOwner> {
    const { path, headers } = signed(request, false);
    for (const name of Object.keys(headers)) if (WS_OWN.test(name)) delete headers[name];
    const owner = new URL(url);
    const ws = new WebSocket(
      `${owner.protocol === "https:" ? "wss" : "ws"}://${owner.host}${path}`,
      {
        headers: headers as Record<string, string>,
        perMessageDeflate: false,
      },
    );
    stubSockets.add(ws);
    return new Promise((resolve) => {
      let open = false;
      ws.once("unexpected-response", (_req, res: IncomingMessage) => {
        const notOwner = isNotOwner(res);
        res.resume();
        ws.terminate();
        if (notOwner) resolve(NOT_OWNER);
        else {
          socket.close(1011, `the owner refused the connection with ${res.statusCode}`);
          resolve({ message() {}, close() {}, error() {} });
        }
      });
      ws.on("error", (e) => {
        if (!open) resolve(NOT_OWNER);
        else log.warn(`stub socket to ${url}: ${errorMessage(e)}`);
      });
      ws.on("message", (data: Buffer, binary: boolean) => {
        socket.send(
          binary ? new Uint8Array(data.buffer, data.byteOffset, data.length) : data.toString(),
          binary,
        );
      });
      ws.on("close", (code, reason) => {
        stubSockets.delete(ws);
        // Before the owner accepted, the caller decides (a retry, or a 1011 close).
        if (open) socket.close(code === 1005 ? 1000 : code, reason.toString());
      });
      ws.once("open", () => {
        open = true;
        resolve({
          message: (data) => ws.send(data, { binary: typeof data !== "string" }),
          close: (code, reason) => {
            if (ws.readyState !== WebSocket.OPEN) return;
            // 1005/1006 are never sent on the wire; a plain close says the same.
            if (
              code === 1000 ||
              (code >= 3000 && code <= 4999) ||
              (code > 1000 && code < 1004) ||
              (code >= 1007 && code <= 1014)
            )
              ws.close(code, reason);
            else ws.close();
          },
          error: () => ws.terminate(),
        });
      });
    });
  }

  return {
    fetch,
    upgrade,
    connect,
    close() {
      for (const s of piped) s.destroy();
      piped.clear();
      for (const ws of stubSockets) ws.terminate();
      stubSockets.clear();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
