#!/usr/bin/env node
// `npm run bench`: every scenario against partyhouse and its peers in one run, peers alternating,
// several rounds; writes bench/results/<date>.{json,md,svg} and prints the table.
//
//   node bench/run.mjs [--quick] [--rounds N] [--peers ws,partyhouse,…] [--scenarios flood,rate,…]
//                      [--no-build] [--no-netns] [--profile] [--lease-ms MS]
//
// `--lease-ms` is the ownership lease of the failover scenario's nodes (default 2000).
//
// `partykit dev` binds 0.0.0.0, so when we are root the whole run moves into a private network
// namespace with only a loopback interface (nothing outside can reach any server, and the load
// stays on 127.0.0.x). Without root, partykit dev is left out and the table says so.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { LoadGen } from "./lib/driver.mjs";
import { PEERS, startPeer } from "./lib/peers.mjs";
import { rssBytes } from "./lib/proc.mjs";
import { renderMarkdown, renderSvg, summarize } from "./lib/report.mjs";
import { percentileOf } from "./lib/stats.mjs";
import { reexecInNetns } from "../scripts/lib/netns.mjs";

const benchDir = new URL(".", import.meta.url).pathname;
const root = new URL("..", import.meta.url).pathname;
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const quick = flag("quick");
const log = (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---- setup: peers' packages, a fresh build, the network namespace ----------------------------------
const NETNS = "partyhouse-bench";
if (process.env.PH_BENCH_IN_NETNS !== "1") {
  if (
    !existsSync(`${benchDir}node_modules/partykit`) ||
    !existsSync(`${benchDir}node_modules/wrangler`)
  ) {
    log("installing the peers (partykit, wrangler, partyserver) into bench/node_modules, once");
    const r = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: benchDir,
      stdio: "inherit",
    });
    if (r.status !== 0)
      log("npm install failed; PartyKit's runtimes will be missing from the table");
  }
  if (!flag("no-build")) {
    log("building partyhouse (npm run build)");
    const r = spawnSync("npm", ["run", "-s", "build"], { cwd: root, stdio: "inherit" });
    if (r.status !== 0 && !existsSync(`${root}dist/runtime/start.js`))
      throw new Error("build failed");
  }
  if (!flag("no-netns")) {
    log(`moving into network namespace ${NETNS} (loopback only) if possible`);
    reexecInNetns(NETNS, "PH_BENCH_IN_NETNS", ["--no-build"]);
  }
  log("no network namespace (not root, or --no-netns): partykit dev is left out");
}
const inNetns = process.env.PH_BENCH_IN_NETNS === "1";

// ---- configuration -----------------------------------------------------------------------------
const cfg = quick
  ? {
      rounds: 1,
      warmupMs: 500,
      durationMs: 1500,
      joinRooms: 1000,
      idleConns: 10_000,
      puts: 500,
      burstPuts: 5000,
      forwardRoundTrips: 1000,
      forwardBatches: 4,
      failoverRooms: 50,
    }
  : {
      rounds: 3,
      warmupMs: 1000,
      durationMs: 4000,
      joinRooms: 10_000,
      idleConns: 10_000,
      puts: 5000,
      burstPuts: 20_000,
      forwardRoundTrips: 2000,
      forwardBatches: 10,
      failoverRooms: 100,
    };
cfg.failoverLeaseMs = Number(option("lease-ms", 2000));
cfg.rounds = Number(option("rounds", cfg.rounds));
const wanted = option("peers", Object.keys(PEERS).join(",")).split(",");
const scenarioFilter = option("scenarios", "");
const profile = flag("profile");
const peerNames = Object.keys(PEERS).filter(
  (p) => wanted.includes(p) && (p !== "partykit" || inNetns),
);
const host = "127.0.0.1";
// Source addresses for the connection-heavy scenarios (past one address's ephemeral ports).
const localAddresses = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];

const WS = ["ws", "partyhouse", "partykit", "partyserver"];
const SIO = ["socketio", "partyhouse-sio"];
const wsPath = (room) => `/parties/main/${room}`;
const sioPath = (room) => `/socket.io/?EIO=4&transport=websocket&partyId=${room}`;
const window = () => ({ warmupMs: cfg.warmupMs, durationMs: cfg.durationMs });

/**
 * Scenarios: `peers` it runs against, `run(peer, lg, round)` returns the measured fields.
 * `fresh: true` starts a new server process for each measurement (memory).
 */
const scenarios = [
  {
    id: "flood",
    title: "1. echo flood, 100 connections",
    peers: WS,
    run: (p, lg) =>
      lg.run(
        { kind: "flood", host, port: p.port, conns: 100, path: wsPath("e{i}"), ...window() },
        p,
      ),
  },
  ...[
    // Issue 9: the CLI with --workers 2 against --workers 1. One connection per room: each room
    // lives on the worker its connection reached (node:cluster deals them out in turn), so no
    // message is forwarded. Two per room: about half the rooms have a connection on each worker,
    // and the messages of the one not on the owner cross a forwarded hop.
    // 101 rooms, so a room's two connections (i and i + 101) land on different workers.
    ["workers", "8. echo flood over 100 rooms of 1 connection", 1, 100],
    ["workersshared", "8. echo flood over 101 rooms of 2 connections (some forwarded)", 2, 101],
  ].map(([id, title, perRoom, rooms]) => ({
    id,
    title: `${title}, partyhouse start --workers 1 vs 2`,
    peers: ["partyhouse-w1", "partyhouse-w2"],
    run: async (p, lg) => {
      const r = await lg.run(
        {
          kind: "flood",
          host,
          port: p.port,
          conns: rooms * perRoom,
          rooms,
          path: wsPath(`e${perRoom}w{room}`),
          ...window(),
        },
        p,
      );
      // Efficiency per core: this machine has two, and the load generator needs some of one.
      return { ...r, msgsPerCoreSec: r.msgsPerSec / r.serverCpu };
    },
  })),
  ...[10_000, 20_000].map((rate) => ({
    id: `rate${rate / 1000}k`,
    title: `2. echo at ${rate / 1000}k msg/s, 100 connections`,
    peers: WS,
    run: (p, lg) =>
      lg.run(
        { kind: "rate", host, port: p.port, conns: 100, rate, path: wsPath("e{i}"), ...window() },
        p,
      ),
  })),
  ...[
    [100, 1000],
    [1000, 100],
  ].flatMap(([members, rate]) => [
    {
      id: `bcmax${members}`,
      title: `3. broadcast, ${members} members, sender as fast as the server delivers`,
      peers: WS,
      run: (p, lg, round) =>
        lg.run(
          {
            kind: "broadcast",
            host,
            port: p.port,
            members,
            path: wsPath(`bm${members}-${round}`),
            ...window(),
          },
          p,
        ),
    },
    {
      id: `bcrate${members}`,
      title: `3. broadcast, ${members} members, ${rate} msg/s (${(members * rate) / 1000}k deliveries/s)`,
      peers: WS,
      run: (p, lg, round) =>
        lg.run(
          {
            kind: "broadcast",
            host,
            port: p.port,
            members,
            rate,
            path: wsPath(`br${members}-${round}`),
            ...window(),
          },
          p,
        ),
    },
  ]),
  {
    id: "coldstart",
    title: "4. room cold start in-process, no storage (10,000 rooms)",
    peers: ["partyhouse"],
    inProcess: true,
    run: () => {
      const out = execFileSync(
        process.execPath,
        ["--expose-gc", `${benchDir}inprocess-coldstart.mjs`, "10000"],
        {
          encoding: "utf8",
        },
      );
      return lastJsonLine(out);
    },
  },
  {
    // Issue 9: an echo straight to the owner node and through a node that forwards it there, two
    // processes on loopback (bench/forward-hop.mjs).
    id: "forward",
    title: "9. forwarded hop: echo direct vs through a non-owner node",
    peers: ["partyhouse"],
    inProcess: true,
    run: () =>
      runScript([
        `${benchDir}forward-hop.mjs`,
        String(cfg.forwardRoundTrips),
        String(cfg.forwardBatches),
      ]),
  },
  {
    // Issue 9: kill -9 of the node owning every room of three `partyhouse start` nodes on
    // PostgreSQL, until each room acknowledges a write on another node (bench/failover.mjs).
    id: "failover",
    title: `10. failover: kill -9 of the owner of ${cfg.failoverRooms} rooms, 3 nodes on PostgreSQL`,
    peers: ["partyhouse"],
    inProcess: true,
    run: () =>
      runScript(
        [
          `${benchDir}failover.mjs`,
          "--rooms",
          String(cfg.failoverRooms),
          "--lease-ms",
          String(cfg.failoverLeaseMs),
        ],
        { timeout: 5 * 60_000 },
      ),
  },
  {
    id: "memory",
    title: `5. memory, ${cfg.idleConns.toLocaleString("en")} idle connections over 1,000 rooms`,
    // workerd resets connections long before 10,000 (and has no heap figure to compare).
    peers: ["ws", "partyhouse", "socketio", "partyhouse-sio"],
    fresh: true,
    run: async (p, lg) => {
      const sio = SIO.includes(p.name);
      const before = await memoryOf(p);
      await lg.run({
        kind: "hold",
        host,
        port: p.port,
        conns: cfg.idleConns,
        rooms: 1000,
        localAddresses,
        proto: sio ? "eio" : "ws",
        path: sio ? sioPath("i{room}") : wsPath("i{room}"),
      });
      await new Promise((r) => setTimeout(r, 1000));
      const after = await memoryOf(p);
      await lg.closeHeld();
      const n = cfg.idleConns;
      return {
        conns: n,
        heapPerConn:
          after.heapUsed !== undefined ? (after.heapUsed - before.heapUsed) / n : undefined,
        rssPerConn: (after.rss - before.rss) / n,
        heapUsed: after.heapUsed,
        rss: after.rss,
      };
    },
  },
  {
    id: "storage",
    title: "6. storage: durable put/s in one room",
    peers: ["partyhouse", "partyhouse-pg", "partykit", "partyserver"],
    run: async (p, lg, round) => {
      const path = wsPath(`s${round}-${Date.now()}`);
      const command = (message, room = path) =>
        lg.run({ kind: "command", host, port: p.port, path: room, message });
      // Warm-up, as every timed scenario has: the first puts a process ever makes pay for JIT
      // compilation and statement preparation (partyhouse's first round ran at a tenth of the
      // others), which is not what a running server's storage costs.
      for (const mode of [`awaited:${cfg.puts}`, `burst:${cfg.puts}:100`, `rmw:${cfg.puts}`]) {
        await command(mode, `${path}-warm`);
      }
      // One command lasts ~10–50 ms, where one garbage collection or a neighbour's job moves the
      // figure by half: the median of five, each in a room of its own, so every put writes a new
      // key (rewriting the same values would measure whatever a store does with unchanged rows).
      const median = async (message) => {
        const ms = [];
        for (let i = 0; i < 5; i++) ms.push((await command(message, `${path}-${ms.length}`)).ms);
        return { ms: percentileOf(ms, 50) };
      };
      const a = await median(`awaited:${cfg.puts}`);
      const b = await median(`burst:${cfg.burstPuts}:100`);
      const c = await median(`rmw:${cfg.puts}`);
      // The output gate's price: a reply after one write against the same reply without one,
      // alternating, medians of 50 each.
      const gated = [];
      const plain = [];
      for (let i = 0; i < 50; i++) {
        gated.push((await command(`gate:${i}`)).ms);
        plain.push((await command(`plain:${i}`)).ms);
      }
      return {
        awaitedPerSec: cfg.puts / (a.ms / 1000),
        burstPerSec: cfg.burstPuts / (b.ms / 1000),
        rmwPerSec: cfg.puts / (c.ms / 1000),
        gateDelayUs: (percentileOf(gated, 50) - percentileOf(plain, 50)) * 1000,
      };
    },
  },
  {
    id: "sio",
    title: "7. Socket.IO echo flood, 100 connections (WebSocket transport)",
    peers: SIO,
    run: (p, lg) =>
      lg.run(
        {
          kind: "flood",
          host,
          port: p.port,
          conns: 100,
          proto: "eio",
          // engine.io sends one packet per write and waits for it; more in flight keeps it busy.
          batch: 100,
          depth: 4,
          // One backend holds all 100, as the standalone server does.
          rooms: 1,
          path: sioPath("e{room}"),
          ...window(),
        },
        p,
      ),
  },
  {
    id: "join",
    // Last in the round: workerd may not survive 10,000 rooms (the peer is restarted if so).
    title: `4. ${cfg.joinRooms.toLocaleString("en")} distinct rooms joined (50 at a time), over the network`,
    peers: WS,
    run: (p, lg, round) =>
      lg.run(
        {
          kind: "join",
          host,
          port: p.port,
          rooms: cfg.joinRooms,
          concurrency: 50,
          localAddresses,
          path: wsPath(`c${round}-{i}`),
        },
        p,
      ),
  },
].filter((s) => scenarioFilter === "" || scenarioFilter.split(",").some((f) => s.id.startsWith(f)));

/** The figures a scenario script prints as its last stdout line (one JSON object). */
function lastJsonLine(out) {
  return JSON.parse(out.trim().split("\n").pop());
}

/**
 * Runs a scenario script in its own process and returns its last JSON line; a script that exits
 * non-zero fails the measurement with what that line says (an error, or lost writes).
 */
function runScript(args, options = {}) {
  try {
    return lastJsonLine(execFileSync(process.execPath, args, { encoding: "utf8", ...options }));
  } catch (e) {
    let figures;
    try {
      figures = lastJsonLine(String(e.stdout ?? ""));
    } catch {}
    if (figures === undefined) throw e;
    throw new Error(
      figures.error ?? `${args[0].split("/").pop()} exited ${e.status}: ${JSON.stringify(figures)}`,
    );
  }
}

/** A quick upgrade to a fresh room: does the server still accept WebSockets? */
async function alive(p) {
  if (SIO.includes(p.name)) return true;
  try {
    const r = await lg.run({
      kind: "join",
      host,
      port: p.port,
      rooms: 1,
      concurrency: 1,
      maxSeconds: 5,
      path: wsPath(`c-probe-${Date.now()}-{i}`),
    });
    return r.joined === 1;
  } catch {
    return false;
  }
}

async function memoryOf(p) {
  if (p.memory) return p.memory();
  return { rss: rssBytes(p.pids()) };
}

// ---- the run -----------------------------------------------------------------------------------
const startedAt = new Date();
const profileDir = `${benchDir}results/profiles`;
if (profile) mkdirSync(profileDir, { recursive: true });
const execArgvFor = (name) =>
  profile && name.startsWith("partyhouse") ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];

const unavailable = {};
/** Measurements that failed, by "scenario · peer". */
const failures = {};
const servers = {};
const needsLongLived = new Set(
  scenarios.filter((s) => !s.fresh && !s.inProcess).flatMap((s) => s.peers),
);
for (const name of peerNames) {
  if (!needsLongLived.has(name)) continue;
  try {
    log(`starting ${name}`);
    servers[name] = await startPeer(name, { execArgv: execArgvFor(name) });
  } catch (e) {
    unavailable[name] = String(e instanceof Error ? e.message : e).split("\n")[0];
    log(`${name} unavailable: ${unavailable[name]}`);
  }
}
if (!inNetns) unavailable.partykit ??= "needs a private network namespace (root); it binds 0.0.0.0";

const lg = new LoadGen();
/** results[scenario][peer] = [round results] */
const results = {};
for (let round = 1; round <= cfg.rounds; round++) {
  if (round > 1) {
    // The last round's 10,000 rooms can leave workerd unwell; every round starts it afresh.
    for (const name of ["partykit", "partyserver"]) {
      if (!servers[name]) continue;
      await servers[name].stop();
      try {
        servers[name] = await startPeer(name);
      } catch (e) {
        delete servers[name];
        failures[`restart · ${PEERS[name].label}`] = String(
          e instanceof Error ? e.message : e,
        ).split("\n")[0];
      }
    }
  }
  for (const s of scenarios) {
    const order = s.peers.filter((p) => peerNames.includes(p) && !(p in unavailable));
    // Alternate: each round starts with a different peer, so drift in the machine spreads evenly.
    const rotated = order.map((_, i) => order[(i + round - 1) % order.length]);
    for (const name of rotated) {
      let server = servers[name];
      let fresh;
      try {
        if (s.fresh) server = fresh = await startPeer(name, { execArgv: execArgvFor(name) });
        else if (server && !(await alive(server))) {
          log(`${name} stopped answering; restarting it`);
          failures[`restart before round ${round} ${s.id} · ${PEERS[name].label}`] =
            "stopped answering";
          await server.stop();
          server = servers[name] = await startPeer(name, { execArgv: execArgvFor(name) });
        }
        if (!server && !s.inProcess) continue;
        const r = await s.run(server, lg, round);
        ((results[s.id] ??= {})[name] ??= []).push(r);
        log(`round ${round} ${s.id} ${name}: ${brief(r)}`);
      } catch (e) {
        const why = String(e instanceof Error ? e.message : e).split("\n")[0];
        log(`round ${round} ${s.id} ${name} failed: ${why}`);
        failures[`${s.id} · ${PEERS[name].label}`] ??= why;
      } finally {
        await fresh?.stop();
      }
    }
  }
}
lg.stop();
for (const server of Object.values(servers)) await server.stop();

function brief(r) {
  return Object.entries(r)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => `${k}=${v >= 100 ? Math.round(v) : Number(v.toFixed(3))}`)
    .join(" ");
}

// ---- report ------------------------------------------------------------------------------------
const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  kernel: os.release(),
  load: os.loadavg(),
};
const versions = peerVersions();
const summary = summarize(scenarios, results);
const report = {
  startedAt: startedAt.toISOString(),
  seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
  mode: quick ? "quick" : "full",
  config: cfg,
  machine,
  versions,
  peers: Object.fromEntries(peerNames.map((p) => [p, PEERS[p].label])),
  unavailable,
  failures,
  results,
  summary,
};
const stamp = startedAt.toISOString().replace(/[:]/g, "-").slice(0, 19);
const outDir = `${benchDir}results`;
mkdirSync(outDir, { recursive: true });
const md = renderMarkdown(report);
writeFileSync(`${outDir}/${stamp}.json`, JSON.stringify(report, null, 2) + "\n");
writeFileSync(`${outDir}/${stamp}.md`, md);
writeFileSync(`${outDir}/${stamp}.svg`, renderSvg(report));
console.log("\n" + md);
log(`wrote bench/results/${stamp}.{json,md,svg} in ${report.seconds} s`);

function peerVersions() {
  const read = (p) => {
    try {
      return JSON.parse(readFileSync(p, "utf8")).version;
    } catch {
      return undefined;
    }
  };
  return {
    partyhouse: read(`${root}package.json`),
    ws: read(`${root}node_modules/ws/package.json`),
    "socket.io": read(`${root}node_modules/socket.io/package.json`),
    partykit: read(`${benchDir}node_modules/partykit/package.json`),
    wrangler: read(`${benchDir}node_modules/wrangler/package.json`),
    partyserver: read(`${benchDir}node_modules/partyserver/package.json`),
  };
}
