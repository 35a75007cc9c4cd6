// Issue 5: one server process holding many idle connections spread over many rooms (100,000 over
// 10,000 by default), then one broadcast reaching every connection; heap and RSS per connection
// for partyhouse beside raw `ws` and standalone `socket.io` holding the same connections.
//
//   node bench/memory-100k.mjs [--conns 100000] [--rooms 10000] [--peers partyhouse,ws,socketio] [--fit]
//
// Each connection needs a descriptor in the server, so the hard RLIMIT_NOFILE must exceed --conns
// (`ulimit -Hn`; raising it needs CAP_SYS_RESOURCE). With --fit, a lower limit scales the run down
// to what fits, keeping 10 connections per room, and the report says so. Clients are spread over
// several load-generator processes, each from its own 127.0.0.x source address, so no address
// runs out of ephemeral ports.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { LoadGen } from "./lib/driver.mjs";
import { PEERS, startPeer } from "./lib/peers.mjs";

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const log = (...a) => console.log(`[memory ${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let conns = Number(option("conns", 100_000));
let rooms = Number(option("rooms", 10_000));
const peers = option("peers", "partyhouse,ws,socketio").split(",");
const hardLimit = Number(spawnSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).stdout.trim());
const requested = { conns, rooms };
let scaledBecause;
if (Number.isFinite(hardLimit) && hardLimit < conns + 256) {
  const why = `the hard limit on open files is ${hardLimit} (ulimit -Hn) and this process may not raise it`;
  if (!argv.includes("--fit")) {
    console.error(
      `memory bench: ${conns} connections need ${conns + 256} descriptors in one process, but ${why}.`,
    );
    console.error(
      "Raise it (as root with CAP_SYS_RESOURCE: ulimit -Hn 1048576) or pass --fit to scale down.",
    );
    process.exit(2);
  }
  const perRoom = conns / rooms;
  conns = Math.floor((hardLimit - 1000) / 1000) * 1000;
  rooms = Math.max(1, Math.round(conns / perRoom));
  scaledBecause = why;
  log(`scaled down to ${conns} connections over ${rooms} rooms: ${why}`);
}

// At most 15,000 connections per load generator (its own descriptor limit), one source address each.
const perClient = 15_000;
const clientCount = Math.ceil(conns / perClient);
const source = (k) => `127.0.0.${10 + k}`;

async function measurePeer(name) {
  const sio = name === "socketio" || name === "partyhouse-sio";
  const server = await startPeer(name, { execArgv: ["--max-old-space-size=16384"] });
  await sleep(500);
  const before = await server.memory();
  const clients = Array.from({ length: clientCount }, () => new LoadGen());
  const t0 = performance.now();
  await Promise.all(
    clients.map((lg, k) => {
      const offset = k * perClient;
      const n = Math.min(perClient, conns - offset);
      return lg.run({
        kind: "hold",
        host: "127.0.0.1",
        port: server.port,
        conns: n,
        offset,
        rooms,
        localAddresses: [source(k)],
        connectConcurrency: 50,
        proto: sio ? "eio" : "ws",
        path: sio
          ? "/socket.io/?EIO=4&transport=websocket&partyId=i{room}"
          : "/parties/main/i{room}",
      });
    }),
  );
  const connectSeconds = (performance.now() - t0) / 1000;
  log(`${name}: ${conns} connections open in ${connectSeconds.toFixed(1)} s`);
  await sleep(2000);
  const after = await server.memory();
  const base = (await Promise.all(clients.map((lg) => lg.count()))).reduce(
    (a, c) => a + c.received,
    0,
  );

  // One broadcast to every connection, then wait until every client has counted it; three times
  // (the first also pays for compiling the send path), the median reported.
  const broadcasts = [];
  let delivered = 0;
  let counted = base;
  for (let b = 0; b < 3; b++) {
    const tb = performance.now();
    const sent = await server.broadcastAll(`hello everyone ${b}`);
    for (let i = 0; i < 600; i++) {
      const total = (await Promise.all(clients.map((lg) => lg.count()))).reduce(
        (a, c) => a + c.received,
        0,
      );
      delivered = total - counted;
      if (delivered >= conns) break;
      await sleep(20);
    }
    counted += delivered;
    broadcasts.push({
      loopMs: sent.ms,
      allDeliveredMs: delivered >= conns ? performance.now() - tb : undefined,
      delivered,
    });
    await sleep(500);
  }
  const mid = [...broadcasts].sort(
    (a, b) => (a.allDeliveredMs ?? Infinity) - (b.allDeliveredMs ?? Infinity),
  )[1];
  const peak = await server.memory();
  for (const lg of clients) {
    await lg.closeHeld();
    lg.stop();
  }
  await server.stop();
  const result = {
    peer: name,
    conns,
    rooms,
    connectSeconds,
    heapPerConn: (after.heapUsed - before.heapUsed) / conns,
    rssPerConn: (after.rss - before.rss) / conns,
    heapUsed: after.heapUsed,
    rss: after.rss,
    broadcastLoopMs: mid.loopMs,
    broadcastDelivered: mid.delivered,
    broadcastAllDeliveredMs: mid.allDeliveredMs,
    broadcasts,
    rssAfterBroadcast: peak.rss,
  };
  log(JSON.stringify(result));
  return result;
}

const results = [];
for (const name of peers) {
  if (!(name in PEERS)) throw new Error(`unknown peer ${name}`);
  try {
    results.push(await measurePeer(name));
  } catch (e) {
    log(`${name} failed: ${e instanceof Error ? e.stack : e}`);
    results.push({ peer: name, error: String(e) });
  }
}

const kb = (b) => (b === undefined ? "—" : `${(b / 1024).toFixed(2)} KB`);
const lines = [
  `${conns.toLocaleString("en")} idle connections over ${rooms.toLocaleString("en")} rooms in one process, then one broadcast to all` +
    (scaledBecause
      ? ` (asked for ${requested.conns.toLocaleString("en")}; scaled down: ${scaledBecause})`
      : ""),
  "",
  "| server | heap / conn | RSS / conn | heap total | RSS total | broadcast loop (median of 3) | all delivered after (median of 3) |",
  "|---|---:|---:|---:|---:|---:|---:|",
  ...results.map((r) =>
    r.error
      ? `| ${PEERS[r.peer].label} | failed: ${r.error} | | | | | |`
      : `| ${PEERS[r.peer].label} | ${kb(r.heapPerConn)} | ${kb(r.rssPerConn)} | ${(r.heapUsed / 2 ** 20).toFixed(0)} MB | ${(r.rss / 2 ** 20).toFixed(0)} MB | ${r.broadcastLoopMs.toFixed(0)} ms | ${r.broadcastAllDeliveredMs === undefined ? `${r.broadcastDelivered} of ${conns} delivered` : `${r.broadcastAllDeliveredMs.toFixed(0)} ms`} |`,
  ),
];
const md = lines.join("\n") + "\n";
console.log("\n" + md);
const stamp = new Date().toISOString().replace(/[:]/g, "-").slice(0, 19);
mkdirSync(new URL("results", import.meta.url).pathname, { recursive: true });
const out = new URL(`results/memory-${conns}-${stamp}`, import.meta.url).pathname;
writeFileSync(
  `${out}.json`,
  JSON.stringify(
    {
      startedAt: stamp,
      requested,
      conns,
      rooms,
      scaledBecause,
      hardLimit,
      node: process.version,
      cpus: os.cpus().length,
      results,
    },
    null,
    2,
  ) + "\n",
);
writeFileSync(`${out}.md`, md);
log(`wrote ${out}.{json,md}`);
