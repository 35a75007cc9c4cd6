// Failover of a crashed owner (issue 9): three real `partyhouse start` nodes on one fresh
// PostgreSQL database; every room is claimed by node A and has a client streaming acknowledged
// writes to it; A gets `kill -9`; each client reconnects through B or C (alternating) and
// re-sends its unacknowledged write until one is acknowledged. Per room: the time from the kill
// to that first acknowledgement on the new owner. Then every write acknowledged before the kill is
// read back through the room on its new owner: none may be missing.
//
// Prints a human summary on stderr and one JSON line last on stdout (bench/run.mjs reads it).
// Exits 1 when a write was lost or a room never came back, or on an error (then the JSON line
// says {"error": …}).
//
//   npm run build && node bench/failover.mjs [--rooms 100] [--lease-ms 2000] [--retry-ms 100]
//                                            [--interval-ms 100] [--stream-ms 3000]
//
// PostgreSQL: PH_BENCH_POSTGRES_URL (a superuser URL; default 127.0.0.1:5432, user postgres, or
// the Unix socket inside bench/run.mjs's loopback-only network namespace).
/* global fetch */
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { SOCKET_ADMIN_URL, TCP_ADMIN_URL, freshDatabase, sqlFor } from "./lib/pg.mjs";
import { percentileOf } from "./lib/stats.mjs";
import { freePort } from "../scripts/lib/netns.mjs";

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : fallback;
};
const roomCount = option("rooms", 100);
const leaseMs = option("lease-ms", 2000);
/** A client's pause between a refused (re)connect and the next try. */
const retryMs = option("retry-ms", 100);
/** Each room's pause between an acknowledgement and its next write. */
const intervalMs = option("interval-ms", 100);
/** How long the rooms stream writes to A before the kill. */
const streamMs = option("stream-ms", 3000);
/** A room not served again by then counts as never recovered. */
const giveUpMs = leaseMs + 30_000;

const here = new URL(".", import.meta.url).pathname;
const bin = `${here}../bin/partyhouse.js`;
const SECRET = "bench-failover-secret-0123456789";
const log = (...a) => console.error(`[failover ${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- cleanup: every node process, the clients, the project copy and the database ----------------
const undo = [];
const children = new Set();
/** Every node started, for its log when something fails. */
const nodes = [];
let cleaning;
function cleanup() {
  cleaning ??= (async () => {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (e) {
        log(`cleanup step failed: ${e instanceof Error ? e.message : e}`);
      }
    }
  })();
  return cleaning;
}
for (const [signal, code] of Object.entries({ SIGINT: 130, SIGTERM: 143 })) {
  process.once(signal, () => {
    log(`${signal}: stopping the nodes and dropping the database`);
    void cleanup().finally(() => process.exit(code));
  });
}
// Last resort (an uncaught error past the finally below): no node outlives this process.
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

async function killNodes() {
  const exits = [];
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    exits.push(new Promise((r) => c.once("exit", r)));
    c.kill("SIGKILL");
  }
  await Promise.all(exits);
}

// ---- nodes ---------------------------------------------------------------------------------------
/** `partyhouse start` on a free port, configured by the environment as an operator does. */
async function startNode(name, project, databaseUrl) {
  const port = await freePort();
  const nodeUrl = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [bin, "start"], {
    cwd: project,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      PARTYHOUSE_DATABASE_URL: databaseUrl,
      PARTYHOUSE_NODE_URL: nodeUrl,
      PARTYHOUSE_CLUSTER_SECRET: SECRET,
      PARTYHOUSE_LEASE_MS: String(leaseMs),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  // Always drained (a full pipe would stall the node); the CLI logs its listening line (on either
  // stream) once it joined the cluster.
  let out = "";
  let listening;
  const url = new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 60_000);
    listening = (m) => {
      clearTimeout(deadline);
      resolve(m[1]);
    };
    child.once("exit", (code, signal) => {
      clearTimeout(deadline);
      reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
  const keep = (d) => {
    out = (out + d).slice(-20_000);
    const m = listening && out.match(/listening on (http:\/\/[\d.:]+)/);
    if (m) {
      listening(m);
      listening = undefined;
    }
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  await url.then((u) => {
    if (u !== nodeUrl) throw new Error(`${name} listens on ${u}, not on its node URL ${nodeUrl}`);
  });
  const node = { name, child, pid: child.pid, url: nodeUrl, output: () => out };
  nodes.push(node);
  return node;
}

// ---- clients -------------------------------------------------------------------------------------
/** Opens room `id` through `node`; resolves with the socket and the greeting of the serving node. */
function connect(node, id) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${node.url.replace("http", "ws")}/parties/main/${id}`, {
      perMessageDeflate: false,
      // A real client gives up on a handshake that hangs (partysocket: 4 s).
      handshakeTimeout: 3000,
    });
    const fail = (e) => {
      ws.terminate();
      reject(e);
    };
    ws.once("unexpected-response", (_req, res) => {
      const code = res.headers["x-partyhouse-error"];
      fail(new Error(`HTTP ${res.statusCode}${code ? ` ${code}` : ""}`));
    });
    ws.once("error", fail);
    ws.once("close", () => reject(new Error("closed before the greeting")));
    ws.once("message", (data) => {
      const hello = JSON.parse(String(data));
      if (hello.type !== "hello") return fail(new Error(`unexpected first message ${data}`));
      resolve({ ws, hello });
    });
  });
}

/** One room and its client: keys `w0`, `w1`, … written one at a time, each awaited. */
class RoomClient {
  constructor(i) {
    this.id = `fo${i}`;
    this.seq = 0;
    /** The write sent and not yet acknowledged (re-sent after a reconnect). */
    this.pending = undefined;
    this.acked = [];
    this.ackedBeforeKill = 0;
    this.attempts = 0;
    this.stopped = false;
    this.timer = undefined;
    /** Settles when the socket to the first owner closed. */
    this.closed = undefined;
    /** ms from the kill to the first acknowledgement on the new owner. */
    this.failoverMs = undefined;
    this.newOwnerPid = undefined;
  }

  /** Streams writes over `ws`; `onAck(at)` hears each acknowledgement's time. */
  pump(ws, onAck) {
    const next = () => {
      if (this.stopped || ws.readyState !== WebSocket.OPEN) return;
      this.pending ??= `w${this.seq++}`;
      ws.send(this.pending);
    };
    ws.on("message", (data) => {
      const at = performance.now();
      const text = String(data);
      if (!text.startsWith("ack:") || text.slice(4) !== this.pending) return;
      this.acked.push(this.pending);
      this.pending = undefined;
      onAck?.(at);
      this.timer = setTimeout(next, intervalMs);
    });
    next();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

/** How the (re)connects during the failover were refused, and how long each refused one took. */
const refusals = {};
const attemptMs = [];

/** Reconnects `room` through `node` until a write is acknowledged there; ms since `killAt`. */
async function recover(room, node, ownerPid, killAt) {
  while (performance.now() - killAt < giveUpMs) {
    room.attempts++;
    let c;
    const t0 = performance.now();
    try {
      c = await connect(node, room.id);
    } catch (e) {
      attemptMs.push(performance.now() - t0);
      const why = e instanceof Error ? e.message : String(e);
      refusals[why] = (refusals[why] ?? 0) + 1;
      await sleep(retryMs);
      continue;
    }
    if (c.hello.pid === ownerPid) throw new Error(`${room.id}: served by the killed node's pid`);
    const at = await new Promise((resolve) => {
      room.pump(c.ws, resolve);
      c.ws.once("close", () => resolve(undefined));
    });
    if (at !== undefined) {
      room.stop();
      room.failoverMs = at - killAt;
      room.newOwnerPid = c.hello.pid;
      c.ws.close();
      return;
    }
    await sleep(retryMs);
  }
}

// ---- the run -------------------------------------------------------------------------------------
const admin =
  process.env.PH_BENCH_POSTGRES_URL ??
  (process.env.PH_BENCH_IN_NETNS === "1" ? SOCKET_ADMIN_URL : TCP_ADMIN_URL);
let result;
let exitCode = 0;
try {
  const db = await freshDatabase(admin, `ph_bench_failover_${process.pid}`);
  undo.push(() => db.drop());
  const project = mkdtempSync(join(tmpdir(), "ph-bench-failover-"));
  undo.push(() => rmSync(project, { recursive: true, force: true }));
  cpSync(`${here}servers/failover`, project, { recursive: true });
  undo.push(killNodes);

  const [a, ...others] = await Promise.all(
    ["A", "B", "C"].map((name) => startNode(name, project, db.url)),
  );
  log(`nodes up: ${[a, ...others].map((n) => `${n.name} ${n.url} pid ${n.pid}`).join(", ")}`);
  const rooms = Array.from({ length: roomCount }, (_, i) => new RoomClient(i));
  const sockets = new Set();
  undo.push(() => {
    for (const r of rooms) r.stop();
    for (const ws of sockets) ws.terminate();
  });

  // A claims every room: each is first opened through A (10 at a time).
  for (let i = 0; i < rooms.length; i += 10) {
    await Promise.all(
      rooms.slice(i, i + 10).map(async (room) => {
        const c = await connect(a, room.id);
        if (c.hello.pid !== a.pid) throw new Error(`${room.id} served by pid ${c.hello.pid}`);
        sockets.add(c.ws);
        room.closed = new Promise((r) => c.ws.once("close", r));
        room.pump(c.ws);
      }),
    );
  }
  // The kill lands at a random point of A's renewal cycle (every lease/4), so that over runs the
  // lease left at the kill spans lease − lease/4 … lease instead of one fixed phase.
  await sleep(streamMs + Math.random() * (leaseMs / 4));

  // How long A's lease had left in the database at the kill: the part of the failover that is
  // the lease's, not the claim's or the client's.
  const sql = sqlFor(db.url);
  undo.push(() => sql.end({ timeout: 1 }));
  const [{ left }] = await sql`
    SELECT (extract(epoch FROM lease_expires - clock_timestamp()) * 1000)::float8 AS left
    FROM partyhouse_nodes WHERE url = ${a.url}`;
  const killAt = performance.now();
  a.child.kill("SIGKILL");
  log(`kill -9 of A (pid ${a.pid}); its lease had ${Math.round(left)} ms left`);
  await Promise.all(
    rooms.map(async (room, i) => {
      await room.closed;
      room.ackedBeforeKill = room.acked.length;
      await recover(room, others[i % others.length], a.pid, killAt);
    }),
  );

  // Every acknowledged write, read back through each room's new owner.
  let lost = 0;
  let ackedBeforeKill = 0;
  for (const [i, room] of rooms.entries()) {
    ackedBeforeKill += room.ackedBeforeKill;
    const res = await fetch(`${others[i % others.length].url}/parties/main/${room.id}`);
    if (res.status !== 200) throw new Error(`reading ${room.id} back: HTTP ${res.status}`);
    const stored = new Set((await res.json()).keys);
    lost += room.acked.filter((k) => !stored.has(k)).length;
  }
  const times = rooms.map((r) => r.failoverMs).filter((t) => t !== undefined);
  const unrecovered = rooms.length - times.length;
  const r1 = (v) => (v === undefined ? undefined : Math.round(v * 10) / 10);
  const p99 = percentileOf(times, 99);
  result = {
    bench: "failover",
    rooms: rooms.length,
    nodes: 3,
    leaseMs,
    retryMs,
    leaseLeftAtKillMs: r1(left),
    p50ms: r1(percentileOf(times, 50)),
    p99ms: r1(p99),
    maxms: r1(percentileOf(times, 100)),
    minms: r1(percentileOf(times, 0)),
    targetMs: leaseMs + 2000,
    met: unrecovered === 0 && p99 !== undefined && p99 <= leaseMs + 2000 ? 1 : 0,
    // What comes after the lease ran out: the claim, onStart, the reconnect and the first write.
    p50AfterLeaseMs: r1(percentileOf(times, 50) - left),
    attemptsPerRoom: r1(rooms.reduce((s, r) => s + r.attempts, 0) / rooms.length),
    refusedAttemptP50ms: r1(percentileOf(attemptMs, 50)),
    refusals,
    ackedBeforeKill,
    lost,
    unrecovered,
    newOwners: Object.fromEntries(
      others.map((n) => [n.name, rooms.filter((r) => r.newOwnerPid === n.pid).length]),
    ),
  };
  log(
    `${rooms.length} rooms, lease ${leaseMs} ms (${Math.round(left)} ms left at the kill): kill → first ack on the new owner p50 ${result.p50ms} ms, p99 ${result.p99ms} ms, max ${result.maxms} ms; target ≤ ${result.targetMs} ms ${result.met ? "met" : "NOT met"}; ${ackedBeforeKill} writes acknowledged before the kill, ${lost} lost, ${unrecovered} rooms never served again`,
  );
  if (lost > 0 || unrecovered > 0) exitCode = 1;
} catch (e) {
  log(`failed: ${e instanceof Error ? e.stack : e}`);
  result = { bench: "failover", error: String(e instanceof Error ? e.message : e).split("\n")[0] };
  for (const n of nodes) log(`node ${n.name}'s last output:\n${n.output().slice(-3000)}`);
  exitCode = 1;
} finally {
  await cleanup();
}
if (result) console.log(JSON.stringify(result));
process.exit(exitCode);
