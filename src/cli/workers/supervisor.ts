/**
 * `partyhouse start --workers N`: this process serves nothing itself. It forks N workers with
 * node:cluster (they share the listening port; the kernel connection goes to whichever worker
 * node:cluster hands it to), and each worker is a node with its own placement lease (SQLite or
 * PostgreSQL), so a request that lands on a worker that does not own its room is forwarded to the
 * owner over the owner's private node port.
 *
 * The supervisor knows at once when a worker dies (it is the parent), so it marks the worker's
 * node dead in the shared store and its rooms are claimed by the next request, with no lease wait;
 * then it starts a new worker in the slot. It also replaces a worker whose event loop stopped
 * answering heartbeats for PARTYHOUSE_STUCK_MS (a party in a busy loop), and drains and replaces a
 * worker whose resident memory passed --max-memory before the kernel's OOM killer picks a victim.
 */
import cluster from "node:cluster";
import type { Worker } from "node:cluster";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { errorMessage } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { markNodeDead } from "../../cluster/sqlite-placement.js";
import { markPostgresNodeDead } from "../../cluster/postgres-placement.js";
import { isFromWorker, WORKER_ENV } from "./messages.js";
import type { ToWorker, WorkerStore } from "./messages.js";

export interface SupervisorOptions {
  count: number;
  log: Logger;
  /** A worker not answering heartbeats for this long is killed and replaced (ms). */
  stuckMs: number;
  /** Resident memory ceiling per worker (bytes). */
  maxMemory?: number;
  /** How long a draining worker may take before it is killed (ms). */
  graceMs: number;
}

interface Slot {
  readonly index: number;
  readonly nodeId: string;
  worker?: Worker;
  startedAt: number;
  ready: boolean;
  lastPong: number;
  /** Why the supervisor itself ended this worker, if it did. */
  ending?: "stuck" | "memory" | "stop";
  /** Consecutive exits soon after a start: the restart waits longer each time. */
  quickExits: number;
}

const HEARTBEAT_MS = 1000;

export function runSupervisor(options: SupervisorOptions): void {
  const { log, count } = options;
  const secret = process.env["PARTYHOUSE_CLUSTER_SECRET"] || randomBytes(32).toString("hex");
  const slots: Slot[] = Array.from({ length: count }, (_, index) => ({
    index,
    nodeId: `${randomUUID()}-w${index}`,
    startedAt: 0,
    ready: false,
    lastPong: 0,
    quickExits: 0,
  }));
  let store: WorkerStore | undefined;
  let everReady = false;
  let announced = false;
  let stopping = false;
  let seq = 0;

  cluster.setupPrimary({
    exec: process.argv[1]!,
    args: process.argv.slice(2),
    execArgv: [
      ...process.execArgv,
      // A backstop below the kernel's OOM killer: V8 fails this worker alone, the supervisor
      // restarts it. The RSS check below normally drains it before that.
      ...(options.maxMemory
        ? [`--max-old-space-size=${Math.max(64, Math.floor(options.maxMemory / 2 ** 20))}`]
        : []),
    ],
  });

  const fork = (slot: Slot) => {
    slot.startedAt = Date.now();
    slot.ready = false;
    slot.lastPong = Date.now();
    delete slot.ending;
    const worker = cluster.fork({
      [WORKER_ENV.slot]: String(slot.index),
      [WORKER_ENV.count]: String(count),
      [WORKER_ENV.nodeId]: slot.nodeId,
      [WORKER_ENV.supervisor]: String(process.pid),
      PARTYHOUSE_CLUSTER_SECRET: secret,
    });
    slot.worker = worker;
    worker.on("message", (m: unknown) => {
      if (!isFromWorker(m)) return;
      slot.lastPong = Date.now();
      if (m.ph !== "ready") return;
      slot.ready = true;
      slot.quickExits = 0;
      store = m.store;
      everReady = true;
      log.info(`worker ${slot.index} ready (pid ${worker.process.pid})`, {
        worker: slot.index,
        pid: worker.process.pid,
        node: m.nodeId,
        nodeUrl: m.nodeUrl,
      });
      if (!announced && slots.every((s) => s.ready)) {
        announced = true;
        log.info(`partyhouse start: listening on ${m.url} with ${count} workers`, {
          workers: count,
          supervisor: process.pid,
        });
      }
    });
    worker.on("exit", (code, signal) => onExit(slot, worker, code, signal));
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null) => {
    if (slot.worker !== worker) return;
    delete slot.worker;
    const wasReady = slot.ready;
    slot.ready = false;
    // The process is gone, so it cannot write: its rooms may be claimed now, not a lease later.
    freeRooms(slot);
    if (stopping) {
      if (slots.every((s) => s.worker === undefined)) finish(0);
      return;
    }
    const how = signal ?? `code ${String(code)}`;
    if (!everReady && !wasReady && code !== 0 && signal === null) {
      // It never served: a config or start-up error, printed by the worker. Restarting would loop.
      log.error("PH_ERR_WORKER_EXIT", `worker ${slot.index} failed to start (${how}); stopping`);
      stopAll();
      return;
    }
    if (slot.ending === undefined) {
      log.error(
        "PH_ERR_WORKER_EXIT",
        `worker ${slot.index} (pid ${worker.process.pid}) exited (${how}); its rooms are free, starting a new one`,
        { worker: slot.index, pid: worker.process.pid, code, signal },
      );
    }
    const quick = Date.now() - slot.startedAt < 5000;
    slot.quickExits = quick ? slot.quickExits + 1 : 0;
    const wait = quick ? Math.min(10_000, 250 * 2 ** (slot.quickExits - 1)) : 0;
    setTimeout(() => {
      if (!stopping) fork(slot);
    }, wait);
  };

  const freeRooms = (slot: Slot) => {
    if (store === undefined) return;
    const target = store;
    void (async () => {
      if (target.kind === "sqlite") markNodeDead(target.path, slot.nodeId);
      else if (target.kind === "postgres") await markPostgresNodeDead(target, slot.nodeId);
    })().catch((e: unknown) =>
      log.error(
        "PH_ERR_CLUSTER_UNAVAILABLE",
        `could not mark worker ${slot.index}'s node dead (its rooms wait for its lease): ${errorMessage(e)}`,
      ),
    );
  };

  const check = () => {
    const now = Date.now();
    for (const slot of slots) {
      const worker = slot.worker;
      if (worker === undefined || slot.ending !== undefined) continue;
      if (slot.ready && now - slot.lastPong > options.stuckMs + HEARTBEAT_MS) {
        slot.ending = "stuck";
        log.error(
          "PH_ERR_WORKER_STUCK",
          `worker ${slot.index} (pid ${worker.process.pid}) answered no heartbeat for ${now - slot.lastPong} ms; killing and replacing it (see its own PH_ERR_WORKER_STUCK line for the room)`,
          { worker: slot.index, pid: worker.process.pid },
        );
        worker.process.kill("SIGKILL");
        continue;
      }
      const rss = options.maxMemory === undefined ? undefined : residentBytes(worker.process.pid);
      if (rss !== undefined && rss > options.maxMemory!) {
        slot.ending = "memory";
        log.error(
          "PH_ERR_WORKER_MEMORY",
          `worker ${slot.index} (pid ${worker.process.pid}) uses ${Math.round(rss / 2 ** 20)} MiB, over --max-memory ${Math.round(options.maxMemory! / 2 ** 20)} MiB; draining and replacing it`,
          { worker: slot.index, pid: worker.process.pid, rss },
        );
        drain(worker);
        continue;
      }
      if (slot.ready && worker.isConnected()) {
        const ping: ToWorker = { ph: "ping", seq: ++seq };
        worker.send(ping);
      }
    }
  };
  const timer = setInterval(check, HEARTBEAT_MS);

  /** SIGTERM (the worker's own drain: 1012, flush, release), SIGKILL if it takes too long. */
  const drain = (worker: Worker) => {
    worker.process.kill("SIGTERM");
    const kill = setTimeout(() => worker.process.kill("SIGKILL"), options.graceMs + 10_000);
    kill.unref();
    worker.once("exit", () => clearTimeout(kill));
  };

  const stopAll = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    let running = 0;
    for (const slot of slots) {
      if (slot.worker === undefined) continue;
      running++;
      slot.ending = "stop";
      drain(slot.worker);
    }
    if (running === 0) finish(everReady ? 0 : 1);
  };

  const finish = (code: number) => {
    releaseLock(store);
    if (everReady) log.info("stopped");
    process.exit(everReady ? code : 1);
  };

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      log.info(`${signal}: draining ${count} workers`);
      stopAll();
    });
  }
  for (const slot of slots) fork(slot);
}

/** VmRSS of a process in bytes (Linux /proc), or undefined when it cannot be read. */
function residentBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The state folder's lock, which the workers took in the supervisor's name (see state-lock.ts). */
function releaseLock(store: WorkerStore | undefined): void {
  if (store?.kind !== "sqlite") return;
  const path = join(dirname(store.path), "partyhouse.lock");
  try {
    if (readFileSync(path, "utf8").trim() === String(process.pid)) rmSync(path, { force: true });
  } catch {
    // Already gone.
  }
}
