// partyhouse as a user embeds it: startPartyhouse() from the built package, the bench party as
// `main`, SQLite storage (the default a user gets) unless PH_BENCH_STORAGE=memory, or
// PH_BENCH_STORAGE=postgres: a fresh database on the server of PH_BENCH_POSTGRES_URL (default:
// the local server's Unix socket, which a loopback-only network namespace still reaches),
// dropped when the peer stops.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveControl } from "./control.mjs";
import { SOCKET_ADMIN_URL, freshDatabase } from "../lib/pg.mjs";

const rooms = new Set();
globalThis.__partyhouseBenchRooms = rooms;
const { default: BenchParty } = await import("./party.js");
const { startPartyhouse } = await import("../../dist/runtime/start.js");

const dir = mkdtempSync(join(tmpdir(), "partyhouse-bench-"));
const kind = process.env.PH_BENCH_STORAGE ?? "sqlite";
const pg =
  kind === "postgres"
    ? await freshDatabase(
        process.env.PH_BENCH_POSTGRES_URL ?? SOCKET_ADMIN_URL,
        `ph_bench_${process.pid}`,
      )
    : undefined;
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
