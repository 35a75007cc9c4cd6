// partyhouse's Socket.IO backend (`partyhouse/socket.io`): the same echo of event "m" as the
// standalone server, one real Socket.IO server per room (?partyId=).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveControl } from "./control.mjs";

const { createServer } = await import("../../dist/socketio/index.js");
const { startPartyhouse } = await import("../../dist/runtime/start.js");

const servers = new Set();
const SocketIOParty = createServer((io) => {
  servers.add(io);
  io.on("connection", (socket) => {
    socket.on("m", (data) => socket.emit("m", data));
  });
});

const dir = mkdtempSync(join(tmpdir(), "partyhouse-bench-"));
const ph = await startPartyhouse({
  parties: { main: SocketIOParty },
  storage: { kind: "sqlite", path: join(dir, "state.db") },
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
});
serveControl({
  port: ph.port,
  broadcastAll(message) {
    for (const io of servers) io.emit("m", message);
    return servers.size;
  },
  async stop() {
    await ph.close();
    rmSync(dir, { recursive: true, force: true });
  },
});
