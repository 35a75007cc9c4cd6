/**
 * partyhouse's Prometheus metrics (prom-client). Labels are the party, the status code or the
 * error code: never the room id, whose number is unbounded.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { PartyStats } from "./host-stats.js";

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<"status">;
  readonly httpDuration: Histogram<"party">;
  readonly handlerDuration: Histogram<"party" | "handler">;
  readonly messagesIn: Counter<"party">;
  readonly messagesOut: Counter<"party">;
  readonly bytesIn: Counter<"party">;
  readonly bytesOut: Counter<"party">;
  readonly errors: Counter<"code" | "party">;
  readonly blocked: Counter<"party">;
  readonly storageCommits: Counter<never>;
  readonly storageErrors: Counter<never>;
  readonly storageCommitSeconds: Histogram<never>;
  /** Prometheus text exposition of every metric. */
  text(): Promise<string>;
}

/** A registry with partyhouse's metrics and Node's process metrics (memory, event-loop delay). */
export function createMetrics(stats: () => Map<string, PartyStats>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "partyhouse_" });
  const registers = [registry];
  // One snapshot fills both gauges: the first registered (rooms) is collected first.
  const connections: Gauge<"party"> = new Gauge({
    name: "partyhouse_connections",
    help: "Open WebSocket connections to party rooms, by party",
    labelNames: ["party"] as const,
    registers: [],
  });
  new Gauge({
    name: "partyhouse_rooms",
    help: "Rooms in this process by party and state (live: has an instance; hibernated: sockets only)",
    labelNames: ["party", "state"] as const,
    registers,
    collect() {
      this.reset();
      connections.reset();
      for (const [party, s] of stats()) {
        this.set({ party, state: "live" }, s.live);
        this.set({ party, state: "hibernated" }, s.hibernated);
        connections.set({ party }, s.connections);
      }
    },
  });
  registry.registerMetric(connections);
  const latency = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  return {
    registry,
    httpRequests: new Counter({
      name: "partyhouse_http_requests_total",
      help: "HTTP requests answered, by status code",
      labelNames: ["status"] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: "partyhouse_http_request_duration_seconds",
      help: "Time from request to the end of the response, by party (empty outside a party): onRequest latency",
      labelNames: ["party"] as const,
      buckets: latency,
      registers,
    }),
    handlerDuration: new Histogram({
      name: "partyhouse_handler_duration_seconds",
      help: "Time a party handler (onStart, onConnect, onMessage, onClose, onError, onRequest, onAlarm) took until it settled, by party and handler",
      labelNames: ["party", "handler"] as const,
      buckets: latency,
      registers,
    }),
    messagesIn: new Counter({
      name: "partyhouse_messages_received_total",
      help: "WebSocket messages received from clients, by party",
      labelNames: ["party"] as const,
      registers,
    }),
    messagesOut: new Counter({
      name: "partyhouse_messages_sent_total",
      help: "WebSocket messages sent to clients, by party",
      labelNames: ["party"] as const,
      registers,
    }),
    bytesIn: new Counter({
      name: "partyhouse_message_bytes_received_total",
      help: "Bytes of WebSocket messages received, by party",
      labelNames: ["party"] as const,
      registers,
    }),
    bytesOut: new Counter({
      name: "partyhouse_message_bytes_sent_total",
      help: "Bytes of WebSocket messages sent, by party",
      labelNames: ["party"] as const,
      registers,
    }),
    errors: new Counter({
      name: "partyhouse_errors_total",
      help: "Errors logged, by PH_ERR_* code and party (empty outside a party)",
      labelNames: ["code", "party"] as const,
      registers,
    }),
    blocked: new Counter({
      name: "partyhouse_event_loop_blocked_total",
      help: "Times a handler blocked the event loop past the watchdog threshold, by the party entered last",
      labelNames: ["party"] as const,
      registers,
    }),
    storageCommits: new Counter({
      name: "partyhouse_storage_commits_total",
      help: "Storage commits (one per room turn with writes)",
      registers,
    }),
    storageErrors: new Counter({
      name: "partyhouse_storage_commit_errors_total",
      help: "Storage commits that failed",
      registers,
    }),
    storageCommitSeconds: new Histogram({
      name: "partyhouse_storage_commit_duration_seconds",
      help: "Time one storage commit took",
      buckets: latency,
      registers,
    }),
    text: () => registry.metrics(),
  };
}
