/**
 * The operator's view of a running server: liveness and readiness probes, Prometheus metrics,
 * the guard on `/__scheduled__`, debug logs of requests and connections, and the room context of
 * log lines. It sits in front of the party pipeline (`NodeServerHooks`) and never changes what a
 * party sees.
 *
 * | path | who may read it |
 * | --- | --- |
 * | `/__partyhouse/health` | anyone: 200 while the process serves |
 * | `/__partyhouse/ready` | anyone: 200 once listening with storage open, 503 while starting or draining |
 * | `/__partyhouse/metrics` | dev: anyone; start: `PARTYHOUSE_METRICS_TOKEN` bearer, else loopback without a proxy |
 * | `/__scheduled__?cron=` | dev: anyone; start: `PARTYHOUSE_CRON_TOKEN` bearer, else loopback without a proxy |
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { WebSocket } from "ws";
import type { NodeServerHooks } from "../../adapters/node/server.js";
import type { Inspector } from "../../core/room/inspect.js";
import type { Logger } from "../../core/log.js";
import type { StorageDriver } from "../../storage/driver.js";
import { isOperator } from "./auth.js";
import { contextOf, roomContext } from "./context.js";
import type { RoomContext } from "./context.js";
import { readHostStats } from "./host-stats.js";
import { createMetrics } from "./metrics.js";
import type { Metrics } from "./metrics.js";
import { observedDriver } from "./storage.js";
import { startWatchdog } from "./watchdog.js";
import { LogStream } from "./log-stream.js";
import { OpsHistory } from "./history.js";

const NO_ROOM = {} as RoomContext;

/** The reserved path prefix of partyhouse's own endpoints. */
export const OPS_PREFIX = "/__partyhouse/";

export interface OpsOptions {
  mode: "dev" | "start";
  log: Logger;
  /** Bearer token for metrics in start (`PARTYHOUSE_METRICS_TOKEN`). */
  metricsToken?: string;
  /** Bearer token for `/__scheduled__` in start (`PARTYHOUSE_CRON_TOKEN`). */
  cronToken?: string;
  /** The admin page's sample interval (ms); default 5000. */
  sampleMs?: number;
  /** Report handlers that block the event loop longer than this (ms); 0 turns it off. */
  blockedThresholdMs?: number;
  /**
   * Told each time a request or socket event enters a room (the same moments the watchdog reads):
   * `--workers` mirrors it into shared memory, where a thread reads it while this thread is stuck.
   */
  entered?: (context: RoomContext | undefined) => void;
}

export type OpsState = "starting" | "ready" | "draining";

export interface Ops {
  /** Hooks for `startPartyhouse({ server })`. */
  readonly hooks: Required<Pick<NodeServerHooks, "intercept" | "onWebSocket">>;
  readonly metrics: Metrics;
  /** A logger that counts errors by code, then writes to the process logger. */
  readonly log: Logger;
  /** Every log entry, for `partyhouse tail` over the admin listener. */
  readonly logs: LogStream;
  /** Messages per second and recent errors, for the admin page. */
  readonly history: OpsHistory;
  /** Readiness follows this: only "ready" answers 200. */
  state: OpsState;
  /** The room host to report on, once it exists. */
  attach(inspect: Inspector): void;
  /** The storage driver with its commits counted and timed. */
  observe(driver: StorageDriver): StorageDriver;
  /** A party handler settled (see startPartyhouse's observeHandler): into the histogram. */
  observeHandler(party: string, handler: string, seconds: number, failed: boolean): void;
  /** Stops the timers (the event-loop watchdog). */
  stop(): void;
}

function answer(res: ServerResponse, status: number, body: string, type = "text/plain"): true {
  res.writeHead(status, { "content-type": `${type}; charset=utf-8`, "cache-control": "no-store" });
  res.end(body);
  return true;
}

/** Creates the ops layer; wire `hooks` into the server and `log` everywhere the server logs. */
export function createOps(options: OpsOptions): Ops {
  let host: Inspector | undefined;
  const metrics = createMetrics(() => (host ? readHostStats(host) : new Map()));
  const base = options.log;
  const logs = new LogStream();
  const history = new OpsHistory(options.sampleMs);
  const publish = (level: string, message: string, fields?: Record<string, unknown>) => {
    if (!logs.active) return;
    logs.publish({
      time: new Date().toISOString(),
      level,
      message,
      ...roomContext.getStore(),
      ...fields,
    });
  };
  const log: Logger = {
    error(code, message, fields) {
      const all = { ...roomContext.getStore(), ...fields };
      metrics.errors.inc({ code, party: typeof all.party === "string" ? all.party : "" });
      base.error(code, message, all);
      history.error({ time: new Date().toISOString(), level: "error", code, message, ...all });
      publish("error", message, { code, ...all });
    },
    warn: (m, f) => (base.warn(m, f), publish("warn", m, f)),
    info: (m, f) => (base.info(m, f), publish("info", m, f)),
    debug: (m, f) => (base.debug(m, f), publish("debug", m, f)),
  };
  const guarded = options.mode === "start";
  // The room whose request or socket event was entered last, for the watchdog.
  let lastEntered: RoomContext | undefined;
  const threshold = options.blockedThresholdMs ?? 1000;
  let stopWatchdog = () => {};
  // Started once the server serves: loading and bundling the code may take a while, legitimately.
  const watch = () =>
    threshold > 0
      ? startWatchdog({
          thresholdMs: threshold,
          lastEntered: () => lastEntered,
          onBlocked(ms, context) {
            metrics.blocked.inc({ party: context?.party ?? "" });
            log.warn(
              `the event loop was blocked for ${ms} ms${context ? ` (last entered: party "${context.party}" room "${context.room}")` : ""}; a handler is running synchronous work that long`,
              { ...context, blockedMs: ms },
            );
          },
        })
      : () => {};

  const ops: Ops = {
    state: "starting",
    metrics,
    log,
    logs,
    history,
    attach(h) {
      host = h;
      stopWatchdog();
      stopWatchdog = watch();
      history.start();
    },
    stop: () => {
      stopWatchdog();
      history.stop();
    },
    observeHandler: (party, handler, seconds) =>
      metrics.handlerDuration.observe({ party, handler }, seconds),
    observe: (driver) =>
      observedDriver(driver, {
        commit(seconds, failed) {
          metrics.storageCommits.inc();
          if (failed) metrics.storageErrors.inc();
          metrics.storageCommitSeconds.observe(seconds);
        },
      }),
    hooks: {
      intercept(req, res) {
        const url = req.url ?? "/";
        observeRequest(req, res, url);
        if (url.startsWith(OPS_PREFIX)) return endpoint(req, res, url);
        if (guarded && url.startsWith("/__scheduled__") && /^\/__scheduled__(\?|$)/.test(url)) {
          if (!isOperator(req, options.cronToken)) {
            log.error(
              "PH_ERR_CRON_FORBIDDEN",
              `/__scheduled__ refused for ${req.socket.remoteAddress}`,
            );
            return answer(res, 403, "Forbidden: /__scheduled__ needs the cron token (see README)");
          }
        }
        // The server hands this request to the app right after this returns, in this same
        // synchronous turn: what runs for it (and what it awaits) logs with its room.
        const context = contextOf(url);
        lastEntered = context;
        options.entered?.(context);
        roomContext.enterWith(context ?? NO_ROOM);
        return false;
      },
      onWebSocket(ws, req) {
        observeSocket(ws, req);
      },
    },
  };

  function endpoint(req: IncomingMessage, res: ServerResponse, url: string): true {
    const path = url.split("?")[0];
    if (path === "/__partyhouse/health") return answer(res, 200, "ok\n");
    if (path === "/__partyhouse/ready") {
      return ops.state === "ready"
        ? answer(res, 200, "ready\n")
        : answer(res, 503, `${ops.state}\n`);
    }
    if (path === "/__partyhouse/metrics") {
      if (guarded && !isOperator(req, options.metricsToken)) {
        log.error("PH_ERR_OPS_FORBIDDEN", `metrics refused for ${req.socket.remoteAddress}`);
        return answer(res, 403, "Forbidden: metrics need the metrics token (see README)");
      }
      metrics
        .text()
        .then((text) => answer(res, 200, text, metrics.registry.contentType.split(";")[0]!))
        .catch((e: unknown) => answer(res, 500, String(e)));
      return true;
    }
    return answer(res, 404, `No ${path} here: ${OPS_PREFIX} is reserved for partyhouse\n`);
  }

  function observeRequest(req: IncomingMessage, res: ServerResponse, url: string): void {
    const start = performance.now();
    res.once("finish", () => {
      const seconds = (performance.now() - start) / 1000;
      metrics.httpRequests.inc({ status: String(res.statusCode) });
      const context = contextOf(url);
      metrics.httpDuration.observe({ party: context?.party ?? "" }, seconds);
      log.debug(`${req.method} ${url} → ${res.statusCode}`, {
        ...context,
        ms: Math.round(seconds * 1000),
      });
    });
  }

  function observeSocket(ws: WebSocket, req: IncomingMessage): void {
    const url = req.url ?? "/";
    const context = contextOf(url);
    const labels = { party: context?.party ?? "" };
    log.debug(`connection open ${url}`, context ? { ...context } : {});
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      metrics.messagesIn.inc(labels);
      history.messages++;
      metrics.bytesIn.inc(labels, byteLength(data));
    });
    ws.once("close", (code: number) => {
      log.debug(`connection closed ${url} (${code})`, context ? { ...context } : {});
    });
    const send = ws.send.bind(ws) as (data: unknown, ...rest: unknown[]) => void;
    (ws as unknown as { send: typeof send }).send = (data, ...rest) => {
      metrics.messagesOut.inc(labels);
      history.messages++;
      metrics.bytesOut.inc(labels, byteLength(data));
      send(data, ...rest);
    };
    if (context) {
      // Every event this socket delivers runs with its room as the log context.
      const emit = ws.emit.bind(ws);
      const entered = options.entered;
      ws.emit = ((event: string | symbol, ...args: unknown[]) => {
        lastEntered = context;
        entered?.(context);
        return roomContext.run(context, () => emit(event, ...args));
      }) as typeof ws.emit;
    }
  }

  return ops;
}

function byteLength(data: unknown): number {
  if (typeof data === "string") return Buffer.byteLength(data);
  if (Array.isArray(data)) return data.reduce((n: number, b: Buffer) => n + b.length, 0);
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}
