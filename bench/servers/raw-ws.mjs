// The ceiling for a `ws`-based server: plain `ws` on node:http doing the bench party's work with
// no framework around it (rooms are Sets keyed by the URL path).
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { roomOf, serveControl } from "./control.mjs";

// The same `ws` copy partyhouse uses, so the comparison is of what sits on top of it.
const { WebSocketServer } = createRequire(new URL("../../package.json", import.meta.url))("ws");

const rooms = new Map();
const http = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  maxPayload: 1024 * 1024,
});
http.on("upgrade", (req, socket, head) => {
  const room = roomOf(req.url);
  if (room === null) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    let members = rooms.get(room);
    if (members === undefined) rooms.set(room, (members = new Set()));
    members.add(ws);
    const kind = room.charAt(0);
    if (kind === "c") ws.send("hi");
    ws.on("message", (data, isBinary) => {
      if (kind === "e") ws.send(data, { binary: isBinary });
      else if (kind === "b") for (const peer of members) peer.send(data, { binary: isBinary });
    });
    ws.on("close", () => {
      members.delete(ws);
      if (members.size === 0) rooms.delete(room);
    });
  });
});
http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", 4096, () => {
  serveControl({
    port: http.address().port,
    broadcastAll(message) {
      for (const members of rooms.values()) for (const ws of members) ws.send(message);
      return rooms.size;
    },
    stop: () => new Promise((r) => http.close(() => r())),
  });
});
