/**
 * Names the room that froze a worker. A `while (true) {}` in a party stops the worker's only
 * JavaScript thread, so nothing on it can report anything; a second thread can. The main thread
 * beats a counter in shared memory every 100 ms and writes there the room each request or socket
 * event enters (only when it changes: a string compare per event). The watch thread, seeing no
 * beat for `stuckMs`, logs that room as the cause (PH_ERR_WORKER_STUCK) on stderr. Replacing the
 * process is the supervisor's job (it also stops getting heartbeats), not this thread's.
 */
import { Worker } from "node:worker_threads";
import type { RoomContext } from "../../runtime/ops/context.js";

/** Room names longer than this are cut in the report (the room id limit is far below). */
const NAME_BYTES = 4096;

// The thread's whole program: plain JavaScript, run with `eval` so no separate file has to be
// found next to the bundle or the build output.
const WATCH_THREAD = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const { sab, stuckMs, worker } = workerData;
const cells = new Int32Array(sab, 0, 2);
const name = new Uint8Array(sab, 8);
let beat = Atomics.load(cells, 0), since = Date.now(), reported = false;
setInterval(() => {
  const now = Atomics.load(cells, 0);
  if (now !== beat) { beat = now; since = Date.now(); reported = false; return; }
  const stuck = Date.now() - since;
  if (reported || stuck < stuckMs) return;
  reported = true;
  const entered = new TextDecoder().decode(name.slice(0, Atomics.load(cells, 1)));
  const [party, room] = entered === "" ? [undefined, undefined] : entered.split("\\u0000");
  writeSync(2, JSON.stringify({
    time: new Date().toISOString(), level: "error", code: "PH_ERR_WORKER_STUCK",
    message: "worker " + worker + " (pid " + process.pid + ") has not run its event loop for " + stuck +
      " ms" + (party === undefined ? "" : "; last entered: party \\"" + party + "\\" room \\"" + room + "\\"") +
      "; the supervisor replaces it",
    worker, pid: process.pid, stuckMs: stuck, ...(party === undefined ? {} : { party, room }),
  }) + "\\n");
}, 100);
`;

export interface StuckWatch {
  /** Pass as the ops layer's `entered`. */
  entered(context: RoomContext | undefined): void;
  stop(): Promise<void>;
}

export function startStuckWatch(worker: number, stuckMs: number): StuckWatch {
  const sab = new SharedArrayBuffer(8 + NAME_BYTES);
  const cells = new Int32Array(sab, 0, 2);
  const name = new Uint8Array(sab, 8);
  const encoder = new TextEncoder();
  const beat = setInterval(() => Atomics.add(cells, 0, 1), 100);
  beat.unref();
  const thread = new Worker(WATCH_THREAD, { eval: true, workerData: { sab, stuckMs, worker } });
  thread.unref();
  let last: RoomContext | undefined;
  return {
    entered(context) {
      if (context === last) return;
      if (context && last && context.party === last.party && context.room === last.room) return;
      last = context;
      const text = context ? `${context.party}\u0000${context.room}` : "";
      Atomics.store(cells, 1, encoder.encodeInto(text, name).written);
    },
    async stop() {
      clearInterval(beat);
      await thread.terminate();
    },
  };
}
