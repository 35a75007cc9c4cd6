/**
 * The admin listener: a second HTTP server, bound to 127.0.0.1 unless told otherwise, for the
 * operator and the `partyhouse list` / `info` / `tail` commands. Off unless `--admin-port` (or
 * PARTYHOUSE_ADMIN_PORT) is given; bound anywhere but loopback it requires PARTYHOUSE_ADMIN_TOKEN.
 *
 * | GET | answer |
 * | --- | --- |
 * | `/` | the admin page (rooms, messages/s chart, recent errors, one room in detail) |
 * | `/stats` | JSON for the page: state, rooms, samples, recent errors |
 * | `/health`, `/ready` | as on the main port |
 * | `/metrics` | Prometheus text |
 * | `/rooms` | JSON: every room with its party, state and connection count |
 * | `/rooms/<party>/<room>` | JSON: its connections (id, uri, tags) and storage keys (read-only) |
 * | `/logs?party=&room=&level=` | newline-delimited JSON log entries as they happen |
 */
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Inspector } from "../../core/room/inspect.js";
import { errorMessage, PartyhouseError } from "../../core/errors.js";
import { ADMIN_PAGE } from "./admin-page.js";
import { isOperator } from "./auth.js";
import { describeRoom, listRooms } from "./host-stats.js";
import type { Ops } from "./index.js";
import { matches } from "./log-stream.js";

export interface AdminOptions {
  host: string;
  port: number;
  token?: string;
  ops: Ops;
  inspect: Inspector;
}

export interface AdminServer {
  readonly url: string;
  close(): Promise<void>;
}

const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(value) + "\n");
}

/** Starts the admin listener. Throws PH_ERR_CONFIG when it would be exposed without a token. */
export async function startAdmin(options: AdminOptions): Promise<AdminServer> {
  if (!LOOPBACK_HOST.test(options.host) && !options.token) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `the admin listener on ${options.host} would be reachable from other machines: set PARTYHOUSE_ADMIN_TOKEN, or bind it to 127.0.0.1`,
    );
  }
  const { ops, inspect } = options;
  const server = createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) json(res, 500, { error: errorMessage(e) });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://admin");
    // The page cannot send a header on navigation, so the token may come as ?token= too.
    const viaQuery = url.searchParams.get("token");
    if (options.token && !isOperator(req, options.token) && viaQuery !== options.token) {
      json(res, 401, { error: "needs Authorization: Bearer $PARTYHOUSE_ADMIN_TOKEN" });
      return;
    }
    if (req.method !== "GET") {
      json(res, 405, { error: "read-only: GET only" });
      return;
    }
    const path = url.pathname;
    if (path === "/") {
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
      });
      res.end(ADMIN_PAGE);
      return;
    }
    if (path === "/stats") {
      return json(res, 200, {
        state: ops.state,
        rooms: listRooms(inspect),
        samples: ops.history.samples,
        errors: ops.history.errors,
      });
    }
    if (path === "/health") return json(res, 200, { ok: true });
    if (path === "/ready")
      return json(res, ops.state === "ready" ? 200 : 503, { state: ops.state });
    if (path === "/metrics") {
      const text = await ops.metrics.text();
      res.writeHead(200, { "content-type": ops.metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (path === "/rooms") return json(res, 200, listRooms(inspect));
    const room = /^\/rooms\/([^/]+)\/([^/]+)$/.exec(path);
    if (room) {
      const [party, id] = [room[1]!, room[2]!];
      if (!inspect.parties().includes(party)) {
        return json(res, 404, { error: `Party ${party} not found` });
      }
      return json(res, 200, await describeRoom(inspect, party, id));
    }
    if (path === "/logs") {
      const filter = {
        ...(url.searchParams.has("party") ? { party: url.searchParams.get("party")! } : {}),
        ...(url.searchParams.has("room") ? { room: url.searchParams.get("room")! } : {}),
        level: url.searchParams.get("level") ?? "info",
      };
      res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
      res.write(JSON.stringify({ level: "info", message: "tail: connected", filter }) + "\n");
      const stop = ops.logs.subscribe((entry) => {
        if (matches(entry, filter)) res.write(JSON.stringify(entry) + "\n");
      });
      res.once("close", stop);
      return;
    }
    json(res, 404, { error: `no ${path} here` });
  }

  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve(server.address() as AddressInfo));
  });
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
