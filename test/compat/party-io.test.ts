/**
 * A Party.IO app written as the Party.IO announcement shows it (`import { createServer } from
 * "party.io"`), in a project without a party.io build: the import maps to partyhouse's Socket.IO
 * parties, reached by the real socket.io-client over both transports.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startCli } from "../cli/cli-helpers.js";
import { waitFor } from "../helpers.js";
import {
  client,
  connected,
  disconnectClients,
  next,
  onTransport,
} from "../socketio/sio-helpers.js";
import { project } from "./helpers.js";

after(disconnectClients);

const announcement = `
import { createServer } from "party.io";
import type { Socket } from "party.io";
import type * as Party from "partykit/server";

const Server = createServer({ pingInterval: 10000 }, (io, req, lobby, ctx) => {
  const partyId = new URL(req.url).searchParams.get("partyId");
  io.on("connection", (socket: Socket) => {
    socket.emit("hello", "world", partyId, typeof lobby.parties.main.get, typeof ctx.waitUntil);
    socket.on("howdy", (data: string, ack: (reply: string) => void) => ack("howdy " + data));
    socket.on("chat", (text: string) => socket.broadcast.emit("chat", text));
    socket.on("count", async (ack: (n: string) => void) => {
      // Party.IO's adapter names the party it publishes through; the chat example asks it.
      const name = (io as any)._nsps.get("/").adapter.partyName;
      const res = await lobby.parties.main.get(name).fetch("/user-count");
      ack(await res.text());
    });
  });
});

// The socket.io-chat example's shape: a subclass with its own onRequest.
export default class extends Server {
  onFetch = (Server as any).onFetch;
  async onRequest(req: Party.Request): Promise<Response> {
    if (new URL(req.url).pathname.endsWith("/user-count")) {
      return new Response(this.room.id + " " + [...this.room.getConnections()].length);
    }
    return super.onRequest(req);
  }
}
`;

describe("party.io without a party.io build", () => {
  it("serves socket.io-client over WebSocket and polling, one server per partyId", async () => {
    const root = project({
      "partykit.json": JSON.stringify({ name: "pio", main: "src/server.ts" }),
      "src/server.ts": announcement,
    });
    const dev = await startCli(["dev", "-p", "0"], root);

    const ws = client(dev.url, { transports: ["websocket"], query: { partyId: "room-a" } });
    const hello = next(ws, "hello");
    await connected(ws);
    assert.deepEqual(await hello, ["world", "room-a", "function", "function"]);
    assert.equal(await ws.timeout(5000).emitWithAck("howdy", "y'all"), "howdy y'all");

    const poll = client(dev.url, { transports: ["polling"], query: { partyId: "room-a" } });
    await connected(poll);
    assert.equal(poll.io.engine.transport.name, "polling");
    const got = next(poll, "chat");
    ws.emit("chat", "from websocket");
    assert.deepEqual(await got, ["from websocket"]);

    // Polling first, then the upgrade to WebSocket, as the default client does.
    const both = client(dev.url, { query: { partyId: "room-a" } });
    await connected(both);
    await onTransport(both, "websocket");
    const fromBoth = next(ws, "chat");
    both.emit("chat", "after upgrade");
    assert.deepEqual(await fromBoth, ["after upgrade"]);

    // Another partyId is another Socket.IO server: it does not hear room-a.
    const other = client(dev.url, { transports: ["websocket"], query: { partyId: "room-b" } });
    await connected(other);
    let leaked = false;
    other.on("chat", () => (leaked = true));
    const echo = next(poll, "chat");
    ws.emit("chat", "room-a only");
    await echo;
    assert.equal(leaked, false);

    // As with Party.IO, the adapter's partyName is a room holding one party connection per
    // connected client of the namespace: the socket.io-chat example counts its users that way.
    await waitFor(
      async () => (await ws.timeout(5000).emitWithAck("count")) === "nsp--room-a- 3",
      10000,
      "three connections in the companion room",
    );
    both.disconnect();
    await waitFor(
      async () => (await ws.timeout(5000).emitWithAck("count")) === "nsp--room-a- 2",
      10000,
      "two connections after a disconnect",
    );
    // Party.IO's own onRequest answers other paths of the room.
    const res = await fetch(dev.url + "/parties/main/room-a/elsewhere");
    assert.equal(res.status, 404);
    assert.equal(await res.text(), "not found");
    const count = await fetch(dev.url + "/parties/main/room-a/count", { method: "POST" });
    assert.equal(await count.text(), "0");

    disconnectClients();
    dev.child.kill("SIGTERM");
    await dev.exited;
  });

  it("refuses a createServer call without a setup function with a coded error", async () => {
    const root = project({
      "partykit.json": JSON.stringify({ name: "pio-bad", main: "src/server.ts" }),
      "src/server.ts": `import { createServer } from "party.io";\nexport default createServer({} as any);\n`,
    });
    await assert.rejects(startCli(["dev", "-p", "0"], root), /PH_ERR_SOCKETIO_OPTIONS/);
  });
});
