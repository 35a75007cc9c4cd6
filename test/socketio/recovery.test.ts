import { after, afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Socket as NetSocket } from "node:net";
import type { Socket } from "socket.io-client";
import { createServer } from "../../src/socketio/index.js";
import type { SocketIOOptions } from "../../src/socketio/index.js";
import { closeAll, serve, sleep } from "../helpers.js";
import { client, connected, disconnectClients, next } from "./sio-helpers.js";

afterEach(disconnectClients);
after(closeAll);

/** Remembers a counter in socket.data and the rooms a socket joined; reports disconnects. */
function party(options: SocketIOOptions) {
  const disconnects: string[] = [];
  const Party = createServer(options, (io) => {
    io.on("connection", (socket) => {
      if (!socket.recovered) {
        socket.data = { count: 0 };
        void socket.join("news");
      }
      socket.on("count", (ack: (n: number) => void) =>
        ack(++(socket.data as { count: number }).count),
      );
      socket.on("state", (ack: (s: unknown) => void) =>
        ack({ id: socket.id, recovered: socket.recovered, rooms: [...socket.rooms].sort() }),
      );
      socket.on("publish", (text: string, ack: () => void) => {
        io.to("news").emit("news", text);
        ack();
      });
      socket.on("disconnect", (reason) => disconnects.push(reason));
    });
  });
  return { Party, disconnects };
}

/** Cuts the TCP connection under the client's WebSocket: no close frame, no close packet. */
function dropWebSocket(socket: Socket): void {
  const transport = socket.io.engine.transport as unknown as { ws: { _socket: NetSocket } };
  transport.ws._socket.destroy();
}

const state = (s: Socket) =>
  s.emitWithAck("state") as Promise<{ id: string; recovered: boolean; rooms: string[] }>;

describe("connection state recovery", () => {
  it("after a dropped WebSocket: same id, rooms, data, and the packets missed meanwhile", async () => {
    const { Party, disconnects } = party({ connectionStateRecovery: {} });
    const ph = await serve({ parties: { main: Party }, limits: { idleTimeoutMs: 50 } });
    const s = await connected(
      client(ph, {
        transports: ["websocket"],
        query: { partyId: "r" },
        reconnection: true,
        reconnectionDelay: 50,
      }),
    );
    assert.equal(await s.emitWithAck("count"), 1);
    const before = await state(s);
    // The client must have seen one broadcast to hold an offset to recover from.
    const first = next(s, "news");
    const publisher = await connected(
      client(ph, { transports: ["polling"], query: { partyId: "r" } }),
    );
    await publisher.emitWithAck("publish", "first");
    await first;

    const reconnected = next(s, "connect");
    dropWebSocket(s);
    // Wait until the server saw the drop, then publish while the client is away.
    while (!disconnects.includes("transport close")) await sleep(10);
    await publisher.emitWithAck("publish", "while away");
    const missed = next(s, "news");
    await reconnected;

    assert.equal(s.recovered, true);
    // With recovery on, Socket.IO appends the packet's offset as a last argument.
    assert.equal((await missed)[0], "while away");
    const after = await state(s);
    assert.equal(after.id, before.id);
    assert.equal(after.recovered, true);
    assert.deepEqual(after.rooms, before.rooms);
    assert.equal(await s.emitWithAck("count"), 2);
  });

  it("keeps the room (and the session) while a client may recover, longer than the idle timeout", async () => {
    const { Party, disconnects } = party({
      connectionStateRecovery: { maxDisconnectionDuration: 60_000 },
    });
    const ph = await serve({ parties: { main: Party }, limits: { idleTimeoutMs: 20 } });
    const s = await connected(
      client(ph, {
        transports: ["websocket"],
        query: { partyId: "keep" },
        reconnection: true,
        reconnectionDelay: 600,
        randomizationFactor: 0,
      }),
    );
    const news = next(s, "news");
    await s.emitWithAck("publish", "hello");
    await news;
    const before = await state(s);
    const reconnected = next(s, "connect");
    dropWebSocket(s);
    while (!disconnects.includes("transport close")) await sleep(10);
    // No client is connected now; many idle timeouts pass before the client comes back.
    await sleep(300);
    assert.ok(ph.inspect.room("main", "keep"), "the room waits for the recoverable session");
    await reconnected;
    assert.equal(s.recovered, true);
    assert.equal((await state(s)).id, before.id);
  });

  it("after a forced close on HTTP long-polling", async () => {
    const { Party } = party({ connectionStateRecovery: {} });
    const ph = await serve({ parties: { main: Party } });
    const s = await connected(
      client(ph, {
        transports: ["polling"],
        query: { partyId: "p" },
        reconnection: true,
        reconnectionDelay: 50,
      }),
    );
    const news = next(s, "news");
    await s.emitWithAck("publish", "x");
    await news;
    const before = await state(s);
    const reconnected = next(s, "connect");
    // What socket.io's own recovery tests do: close the Engine.IO connection under the socket.
    s.io.engine.close();
    await reconnected;
    assert.equal(s.recovered, true);
    assert.equal((await state(s)).id, before.id);
  });

  it("is opt-in: without the option a reconnection is a new session", async () => {
    const { Party, disconnects } = party({});
    const ph = await serve({ parties: { main: Party } });
    const s = await connected(
      client(ph, {
        transports: ["websocket"],
        query: { partyId: "off" },
        reconnection: true,
        reconnectionDelay: 50,
      }),
    );
    const news = next(s, "news");
    await s.emitWithAck("publish", "x");
    await news;
    const before = await state(s);
    const reconnected = next(s, "connect");
    dropWebSocket(s);
    while (!disconnects.includes("transport close")) await sleep(10);
    await reconnected;
    assert.ok(!s.recovered);
    const after = await state(s);
    assert.equal(after.recovered, false);
    assert.notEqual(after.id, before.id);
    assert.equal(await s.emitWithAck("count"), 1);
  });
});
