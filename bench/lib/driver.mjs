// The parent's side of a load-generator process: run a job, sample the server's CPU over the
// window the load generator measures, and return both CPU figures with the result.
import { fork } from "node:child_process";
import { performance } from "node:perf_hooks";
import { cpuByPid, cpuSince } from "./proc.mjs";

export class LoadGen {
  constructor() {
    this.child = fork(new URL("./loadgen.mjs", import.meta.url).pathname, [], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv: ["--max-old-space-size=4096"],
    });
    this.ready = new Promise((resolve) => this.child.once("message", resolve));
  }

  /**
   * @param {object} job see loadgen.mjs
   * @param {{ pids: () => number[] }} [server] whose CPU to sample over the measurement window
   */
  async run(job, server) {
    await this.ready;
    return new Promise((resolve, reject) => {
      let cpu0 = new Map();
      let t0 = 0;
      let serverCpu;
      const on = (m) => {
        if (m.type === "measure-start" && server) {
          cpu0 = cpuByPid(server.pids());
          t0 = performance.now();
        } else if (m.type === "measure-end" && server) {
          serverCpu = cpuSince(cpu0) / ((performance.now() - t0) / 1000);
        } else if (m.type === "result") {
          this.child.off("message", on);
          resolve({ ...m.result, ...(serverCpu !== undefined ? { serverCpu } : {}) });
        } else if (m.type === "error") {
          this.child.off("message", on);
          reject(new Error(m.error));
        }
      };
      this.child.on("message", on);
      this.child.send({ type: "job", job });
    });
  }

  /** For hold jobs: how many frames the held connections received since they opened. */
  count() {
    return this.ask({ type: "count" }, "count");
  }

  closeHeld() {
    return this.ask({ type: "close" }, "closed");
  }

  ask(msg, reply) {
    return new Promise((resolve) => {
      const on = (m) => {
        if (m.type === reply) {
          this.child.off("message", on);
          resolve(m);
        }
      };
      this.child.on("message", on);
      this.child.send(msg);
    });
  }

  stop() {
    this.child.disconnect();
  }
}
