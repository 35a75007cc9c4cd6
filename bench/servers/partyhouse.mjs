// partyhouse as a user embeds it: startPartyhouse() from the built package, the bench party as
// `main`, SQLite storage (the default a user gets) unless PH_BENCH_STORAGE=memory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveControl } from "./control.mjs";

const rooms = new Set();
globalThis.__partyhouseBenchRooms = rooms;
const { default: BenchParty } = await import("./party.js");
const { startPartyhouse } = await import("../../dist/runtime/start.js");

const dir = mkdtempSync(join(tmpdir(), "partyhouse-bench-"));
const storage =
  process.env.PH_BENCH_STORAGE === "memory"
    ? { kind: "memory" }
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
    rmSync(dir, { recursive: true, force: true });
  },
});
