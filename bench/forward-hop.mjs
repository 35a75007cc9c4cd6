// The cost of a forwarded hop (issue 9): echo round trips over one WebSocket, straight to the
// owner node and through a non-owner node that pipes the bytes on, on loopback. The two nodes are
// separate processes; batches alternate so both paths see the same machine load. Prints p50/p99
// of each, what the hop adds, and the CPU the forwarding node spent per message.
// Usage: npm run build && node bench/forward-hop.mjs [roundTripsPerBatch] [batches]
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { cpuSeconds } from "./lib/proc.mjs";
import { percentileOf } from "./lib/stats.mjs";

const perBatch = Number(process.argv[2] ?? 2000);
const batches = Number(process.argv[3] ?? 10);
const here = new URL(".", import.meta.url).pathname;

async function node(owner) {
  const child = spawn(
    process.execPath,
    [`${here}servers/forward-node.mjs`, ...(owner ? [owner] : [])],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const [line] = await once(createInterface({ input: child.stdout }), "line");
  return { child, url: JSON.parse(line).url };
}

async function open(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await once(ws, "open");
  return ws;
}

/** `n` sequential round trips of a 64-byte text message; latencies in µs. */
async function roundTrips(ws, n, out) {
  const payload = "x".repeat(64);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    ws.send(payload);
    await once(ws, "message");
    out.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
}

const owner = await node();
const forwarder = await node(owner.url);
try {
  const direct = await open(`${owner.url.replace("http", "ws")}/parties/main/echo-hop`);
  const via = await open(`${forwarder.url.replace("http", "ws")}/parties/main/echo-hop`);
  await roundTrips(direct, 500, []);
  await roundTrips(via, 500, []);
  const d = [];
  const v = [];
  let fwdCpu = 0;
  for (let b = 0; b < batches; b++) {
    await roundTrips(direct, perBatch, d);
    const before = cpuSeconds([forwarder.child.pid]);
    await roundTrips(via, perBatch, v);
    fwdCpu += cpuSeconds([forwarder.child.pid]) - before;
  }
  const p = (xs, q) => Math.round(percentileOf(xs, q));
  const result = {
    bench: "forward-hop",
    roundTrips: d.length,
    directP50us: p(d, 50),
    directP99us: p(d, 99),
    viaP50us: p(v, 50),
    viaP99us: p(v, 99),
    addedP50us: p(v, 50) - p(d, 50),
    addedP99us: p(v, 99) - p(d, 99),
    // Each round trip is two messages through the forwarding node (one each way).
    forwarderCpuUsPerMessage: Math.round(((fwdCpu * 1e6) / (v.length * 2)) * 10) / 10,
  };
  console.log(JSON.stringify(result));
  direct.close();
  via.close();
} finally {
  forwarder.child.kill("SIGTERM");
  owner.child.kill("SIGTERM");
}
