// Room cold start inside one process, without the network and without storage (memory driver):
// from opening a socket to the room through a party stub to the party's greeting in onConnect, for N new rooms in
// a row. This isolates what partyhouse adds per room (runtime, instance, onStart, connection).
// Prints one JSON line. Usage: node --expose-gc bench/inprocess-coldstart.mjs [rooms]
import { performance } from "node:perf_hooks";
import { percentileOf } from "./lib/stats.mjs";

const rooms = Number(process.argv[2] ?? 10_000);
const { default: BenchParty } = await import("./servers/party.js");
const { startPartyhouse } = await import("../dist/runtime/start.js");
const ph = await startPartyhouse({ parties: { main: BenchParty }, storage: { kind: "memory" } });

// A party stub's socket: the public in-process road into a room (an in-memory socket pair, so
// the figure includes its microtask hops but no network).
async function coldStart(i) {
  let greeted;
  const done = new Promise((r) => (greeted = r));
  const t0 = process.hrtime.bigint();
  const socket = ph.parties.main.get(`c${i}`).connect();
  socket.addEventListener("message", () => greeted(process.hrtime.bigint()), { once: true });
  const t1 = await done;
  socket.close();
  return Number(t1 - t0) / 1e6;
}

for (let i = 0; i < 500; i++) await coldStart(`warm${i}`); // JIT warm-up on other rooms
globalThis.gc?.();
const times = [];
const t0 = performance.now();
for (let i = 0; i < rooms; i++) times.push(await coldStart(i));
const seconds = (performance.now() - t0) / 1000;
console.log(
  JSON.stringify({
    rooms,
    p50ms: percentileOf(times, 50),
    p99ms: percentileOf(times, 99),
    maxms: percentileOf(times, 100),
    roomsPerSec: rooms / seconds,
    liveRooms: ph.inspect.counts().rooms,
  }),
);
await ph.close();
