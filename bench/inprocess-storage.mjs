// Storage puts inside one process, without the network: the bench party's storage commands
// ("awaited:N", "burst:N:100", "rmw:N") sent through a party stub's socket, each timed from the
// send to the reply, which the output gate holds until the turn's commit is durable. This is the
// storage scenario of bench/run.mjs minus the WebSocket hop, repeated enough to be measured.
// Prints one JSON line per mode: median µs per put (and puts/s) over the repeats.
//
// Usage: node bench/inprocess-storage.mjs [--storage sqlite|postgres|memory] [--puts N]
//          [--repeats R] [--modes awaited,burst,rmw]
// PostgreSQL: a fresh database on PH_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres),
// dropped at the end. Add `--cpu-prof` (node's flag) and read the result with profile-summary.mjs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentileOf } from "./lib/stats.mjs";

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const kind = option("storage", "sqlite");
const puts = Number(option("puts", 2000));
const repeats = Number(option("repeats", 30));
const modes = option("modes", "awaited,burst,rmw").split(",");

const { default: BenchParty } = await import("./servers/party.js");
const { startPartyhouse } = await import("../dist/runtime/start.js");

const dir = mkdtempSync(join(tmpdir(), "partyhouse-inprocess-storage-"));
const pg = kind === "postgres" ? await freshDatabase() : undefined;
const storage =
  kind === "memory"
    ? { kind: "memory" }
    : pg !== undefined
      ? { kind: "postgres", url: pg.url }
      : { kind: "sqlite", path: join(dir, "state.db") };
const ph = await startPartyhouse({ parties: { main: BenchParty }, storage });

try {
  let room = 0;
  /** One command in a fresh storage room ("s…"), timed from send to reply, in µs. */
  async function command(message) {
    const socket = ph.parties.main.get(`s${room++}`).connect();
    await new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
    const replied = new Promise((resolve) =>
      socket.addEventListener("message", () => resolve(process.hrtime.bigint()), { once: true }),
    );
    const t0 = process.hrtime.bigint();
    socket.send(message);
    const t1 = await replied;
    socket.close();
    return Number(t1 - t0) / 1e3;
  }
  const commands = { awaited: `awaited:${puts}`, burst: `burst:${puts}:100`, rmw: `rmw:${puts}` };
  // JIT warm-up: every mode a few times before anything counts.
  for (let i = 0; i < 5; i++) for (const mode of modes) await command(commands[mode]);
  const times = Object.fromEntries(modes.map((m) => [m, []]));
  // Modes alternate, so a noisy moment hits each of them alike.
  for (let r = 0; r < repeats; r++) {
    for (const mode of modes) times[mode].push(await command(commands[mode]));
  }
  for (const mode of modes) {
    const usPerPut = percentileOf(times[mode], 50) / puts;
    console.log(
      JSON.stringify({
        storage: kind,
        mode,
        puts,
        repeats,
        usPerPut: Number(usPerPut.toFixed(2)),
        putsPerSec: Math.round(1e6 / usPerPut),
        p10usPerPut: Number((percentileOf(times[mode], 10) / puts).toFixed(2)),
      }),
    );
  }
} finally {
  await ph.close();
  await pg?.drop();
  rmSync(dir, { recursive: true, force: true });
}

async function freshDatabase() {
  const { default: postgres } = await import("postgres");
  const admin = process.env.PH_BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const name = `ph_inprocess_${process.pid}`;
  const run = async (statement) => {
    const sql = postgres(admin, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(statement);
    } finally {
      await sql.end();
    }
  };
  await run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await run(`CREATE DATABASE "${name}"`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}
