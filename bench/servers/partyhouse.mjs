// partyhouse as a user embeds it: startPartyhouse() from the built package, the bench party as
// `main`, SQLite storage (the default a user gets) unless PH_BENCH_STORAGE=memory, or
// PH_BENCH_STORAGE=postgres: a fresh database on the server of PH_BENCH_POSTGRES_URL (default:
// the local server's Unix socket, which a loopback-only network namespace still reaches),
// dropped when the peer stops.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveControl } from "./control.mjs";

const rooms = new Set();
globalThis.__partyhouseBenchRooms = rooms;
const { default: BenchParty } = await import("./party.js");
const { startPartyhouse } = await import("../../dist/runtime/start.js");

const dir = mkdtempSync(join(tmpdir(), "partyhouse-bench-"));
const kind = process.env.PH_BENCH_STORAGE ?? "sqlite";
const pg = kind === "postgres" ? await freshDatabase() : undefined;
const storage =
  kind === "memory"
    ? { kind: "memory" }
    : pg !== undefined
      ? { kind: "postgres", url: pg.url }
      : { kind: "sqlite", path: join(dir, "state.db") };
const ph = await startPartyhouse({
  parties: { main: BenchParty },
  storage,
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
});
serveControl({
  port: ph.port,
  broadcastAll(message) {
    for (const room of rooms) room.broadcast(message);
    return rooms.size;
  },
  async stop() {
    await ph.close();
    await pg?.drop();
    rmSync(dir, { recursive: true, force: true });
  },
});

async function freshDatabase() {
  const { default: postgres } = await import("postgres");
  const admin =
    process.env.PH_BENCH_POSTGRES_URL ??
    "postgres://postgres@localhost/postgres?host=/var/run/postgresql";
  const name = `ph_bench_${process.pid}`;
  // As an http: URL, the WHATWG parser splits it; postgres.js does not read libpq's ?host=.
  const parsed = new URL(admin.replace(/^postgres(ql)?:/, "http:"));
  const host = parsed.searchParams.get("host");
  const run = async (statement) => {
    const sql = postgres(admin.split("?")[0], {
      ...(host ? { host } : {}),
      max: 1,
      onnotice: () => {},
    });
    try {
      await sql.unsafe(statement);
    } finally {
      await sql.end();
    }
  };
  await run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await run(`CREATE DATABASE "${name}"`);
  parsed.pathname = `/${name}`;
  return {
    url: parsed.toString().replace(/^http:/, "postgres:"),
    drop: () => run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}
