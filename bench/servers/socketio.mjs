// The standalone official Socket.IO server (both transports, default options): echo of event "m"
// and, for the memory bench, one io.emit() reaching every socket. Each socket joins the room
// named by ?partyId=, as the per-room backend would hold it.
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { serveControl } from "./control.mjs";

// The copy partyhouse's Socket.IO party is built on.
const { Server } = createRequire(new URL("../../package.json", import.meta.url))("socket.io");

const http = createServer();
const io = new Server(http, { serveClient: false });
io.on("connection", (socket) => {
  const room = socket.handshake.query.partyId;
  if (typeof room === "string") socket.join(room);
  socket.on("m", (data) => socket.emit("m", data));
});
http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", 4096, () => {
  serveControl({
    port: http.address().port,
    broadcastAll(message) {
      io.emit("m", message);
      return io.sockets.adapter.rooms.size;
    },
    stop: () => new Promise((r) => io.close(() => r())),
  });
});
