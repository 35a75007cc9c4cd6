/**
 * What the supervisor of `partyhouse start --workers N` and its worker processes tell each other
 * over node:cluster's IPC channel, and the environment a worker is started with.
 */

/** Where a worker keeps its rooms: the supervisor frees a dead worker's rooms there. */
export type WorkerStore =
  | { kind: "sqlite"; path: string }
  | { kind: "postgres"; url: string; schema?: string; tablePrefix?: string }
  | { kind: "memory" };

export type ToWorker = { ph: "ping"; seq: number };

export type FromWorker =
  | { ph: "pong"; seq: number }
  | { ph: "ready"; nodeId: string; url: string; nodeUrl: string; store: WorkerStore };

/** Set by the supervisor on each worker it forks. */
export const WORKER_ENV = {
  slot: "PARTYHOUSE_WORKER_SLOT",
  count: "PARTYHOUSE_WORKER_COUNT",
  nodeId: "PARTYHOUSE_WORKER_NODE_ID",
  supervisor: "PARTYHOUSE_SUPERVISOR_PID",
} as const;

export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === "object" && m !== null && "ph" in m;
}

export function isToWorker(m: unknown): m is ToWorker {
  return typeof m === "object" && m !== null && (m as { ph?: unknown }).ph === "ping";
}
