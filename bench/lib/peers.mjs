/* global fetch */
// Starting and stopping the servers under test. Node peers are forked with IPC (memory, broadcast,
// clean stop); PartyKit's runtimes run their own CLIs (`partykit dev`, `wrangler dev`), which start
// workerd under them, so their CPU and RSS are summed over the whole process tree.
import { fork, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { isAlive, processTree } from "./proc.mjs";
import { freePort } from "../../scripts/lib/netns.mjs";

const here = new URL("..", import.meta.url).pathname;

/** The peers, in the order the tables show them. `ws` is the ceiling ratios are taken against. */
export const PEERS = {
  ws: { label: "raw ws", kind: "node", script: "servers/raw-ws.mjs" },
  partyhouse: { label: "partyhouse", kind: "node", script: "servers/partyhouse.mjs" },
  // The same server on the PostgreSQL driver (a fresh database per run; see servers/partyhouse.mjs).
  "partyhouse-pg": {
    label: "partyhouse on PostgreSQL",
    kind: "node",
    script: "servers/partyhouse.mjs",
    env: { PH_BENCH_STORAGE: "postgres" },
  },
  partykit: { label: "partykit dev", kind: "cli", cwd: "servers/partykit", needsNetns: true },
  partyserver: { label: "wrangler dev + partyserver", kind: "cli", cwd: "servers/partyserver" },
  socketio: { label: "socket.io", kind: "node", script: "servers/socketio.mjs" },
  // `partyhouse start --workers N` as a user runs it (the CLI, the same party as partykit dev).
  "partyhouse-w1": {
    label: "partyhouse --workers 1",
    kind: "cli",
    cwd: "servers/partykit",
    workers: 1,
  },
  "partyhouse-w2": {
    label: "partyhouse --workers 2",
    kind: "cli",
    cwd: "servers/partykit",
    workers: 2,
  },
  "partyhouse-sio": {
    label: "partyhouse socket.io",
    kind: "node",
    script: "servers/partyhouse-socketio.mjs",
  },
};

/**
 * @param {string} name
 * @param {{ execArgv?: string[], env?: Record<string, string>, log?: (s: string) => void, wrap?: string[] }} [o]
 */
export async function startPeer(name, o = {}) {
  const peer = PEERS[name];
  if (peer.kind === "node") return startNode(name, peer, o);
  return startCli(name, peer, o);
}

async function startNode(name, peer, o) {
  const child = fork(new URL(peer.script, `file://${here}`).pathname, [], {
    execArgv: ["--expose-gc", ...(o.execArgv ?? [])],
    env: { ...process.env, ...peer.env, ...o.env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const listening = await new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code} before listening`)));
    child.on("message", (m) => {
      if (m.type === "listening") resolve(m);
    });
  });
  const ask = (msg, reply) =>
    new Promise((resolve) => {
      const on = (m) => {
        if (m.type === reply) {
          child.off("message", on);
          resolve(m);
        }
      };
      child.on("message", on);
      child.send(msg);
    });
  return {
    name,
    port: listening.port,
    pid: child.pid,
    pids: () => [child.pid],
    memory: () => ask({ type: "mem" }, "mem"),
    broadcastAll: (message) => ask({ type: "broadcastAll", message }, "broadcastAll"),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.send({ type: "stop" });
      const t = setTimeout(() => child.kill("SIGKILL"), 15000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function startCli(name, peer) {
  const cwd = new URL(peer.cwd, `file://${here}`).pathname;
  // Fresh durable state each run.
  rmSync(`${cwd}/.partykit`, { recursive: true, force: true });
  rmSync(`${cwd}/.wrangler`, { recursive: true, force: true });
  const port = await freePort();
  const ours = peer.workers !== undefined;
  const bin = ours
    ? process.execPath
    : `${here}node_modules/.bin/${name === "partykit" ? "partykit" : "wrangler"}`;
  const args = ours
    ? [`${here}../bin/partyhouse.js`, "start", "--workers", String(peer.workers)]
    : name === "partykit"
      ? ["dev", "--port", String(port)]
      : ["dev", "--ip", "127.0.0.1", "--port", String(port)];
  const child = spawn(bin, args, {
    cwd,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      PARTYKIT_TELEMETRY: "0",
      NO_COLOR: "1",
      CI: "1",
      ...(ours ? { PORT: String(port), HOST: "127.0.0.1" } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${output.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`${name} did not start: ${output.slice(-2000)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/parties/main/probe`);
      await res.arrayBuffer();
      if (res.status < 502) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    name,
    port,
    pid: child.pid,
    pids: () => processTree(child.pid),
    memory: undefined,
    broadcastAll: undefined,
    output: () => output,
    async stop() {
      // The CLI and the workerd it started; all of them must be gone before a restart reuses the
      // state folder, or a workerd still busy with the last run answers the new one's rooms with 500.
      const tree = processTree(child.pid);
      const signal = (sig) => {
        try {
          process.kill(-child.pid, sig);
        } catch {}
        for (const pid of tree) {
          try {
            process.kill(pid, sig);
          } catch {}
        }
      };
      signal("SIGTERM");
      const deadline = Date.now() + 5000;
      while (tree.some(isAlive) && Date.now() < deadline + 5000) {
        if (Date.now() > deadline) signal("SIGKILL");
        await new Promise((r) => setTimeout(r, 100));
      }
      // Nothing of a run stays in the work tree (wrangler leaves bundles that a linter would find).
      rmSync(`${cwd}/.partykit`, { recursive: true, force: true });
      rmSync(`${cwd}/.wrangler`, { recursive: true, force: true });
    },
  };
}
