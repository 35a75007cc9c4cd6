import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server as StandaloneServer } from "socket.io";
import { createServer } from "../../src/socketio/index.js";
import type { Partyhouse } from "../../src/runtime/start.js";
import { closeAll, serve } from "../helpers.js";
import { client, connected, disconnectClients, next, onTransport } from "./sio-helpers.js";

/** Tells each client which room and transport answered, and echoes with an ack. */
const Echo = createServer((io, room) => {
  io.on("connection", (socket) => {
    socket.emit("hello", {
      room: room.id,
      party: room.name,
      transport: socket.conn.transport.name,
    });
    socket.on("echo", (value: unknown, ack: (v: unknown, room: string) => void) =>
      ack(value, room.id),
    );
  });
});

let ph: Partyhouse;
before(async () => {
  ph = await serve({ parties: { main: Echo, other: Echo } });
});
afterEach(disconnectClients);
after(closeAll);

describe("transports", () => {
  it("HTTP long-polling only", async () => {
    const socket = client(ph, { transports: ["polling"], query: { partyId: "poll" } });
    const [hello] = await next<[{ room: string; transport: string }]>(socket, "hello");
    assert.deepEqual(hello, { room: "poll", party: "main", transport: "polling" });
    const [echoed, room] = await new Promise<unknown[]>((resolve) =>
      socket.emit("echo", { deep: [1, "two"] }, (...args: unknown[]) => resolve(args)),
    );
    assert.deepEqual(echoed, { deep: [1, "two"] });
    assert.equal(room, "poll");
    assert.equal(socket.io.engine.transport.name, "polling");
  });

  it("WebSocket only", async () => {
    const socket = client(ph, { transports: ["websocket"], query: { partyId: "ws" } });
    const [hello] = await next<[{ room: string; transport: string }]>(socket, "hello");
    assert.deepEqual(hello, { room: "ws", party: "main", transport: "websocket" });
    assert.deepEqual(await socket.emitWithAck("echo", "x"), "x");
  });

  it("starts on polling and upgrades to WebSocket in the same room", async () => {
    const socket = client(ph, { query: { partyId: "upgrade" } });
    const [hello] = await next<[{ room: string; transport: string }]>(socket, "hello");
    assert.equal(hello.transport, "polling");
    await onTransport(socket, "websocket");
    // The session survived the upgrade: the same socket still answers, from the same room.
    const [value, room] = await new Promise<unknown[]>((resolve) =>
      socket.emit("echo", 42, (...args: unknown[]) => resolve(args)),
    );
    assert.deepEqual([value, room], [42, "upgrade"]);
  });

  it("reads partyID as well as partyId, and uses the room 'default' without either", async () => {
    const a = client(ph, { transports: ["websocket"], query: { partyID: "capital" } });
    const b = client(ph, { transports: ["polling"] });
    assert.equal((await next<[{ room: string }]>(a, "hello"))[0].room, "capital");
    assert.equal((await next<[{ room: string }]>(b, "hello"))[0].room, "default");
  });

  it("the explicit form /parties/:party/:room/socket.io/ reaches the same room as ?partyId=", async () => {
    const viaQuery = client(ph, { query: { partyId: "same room" } });
    const viaPath = client(ph, { path: "/parties/main/same%20room/socket.io" });
    const viaOther = client(ph, { path: "/parties/other/same%20room/socket.io" });
    const [q] = await next<[{ room: string; party: string }]>(viaQuery, "hello");
    const [p] = await next<[{ room: string; party: string }]>(viaPath, "hello");
    const [o] = await next<[{ room: string; party: string }]>(viaOther, "hello");
    assert.deepEqual([q.party, q.room], ["main", "same%20room"]);
    assert.deepEqual([p.party, p.room], ["main", "same%20room"]);
    assert.deepEqual([o.party, o.room], ["other", "same%20room"]);
    // The polling session of the explicit form upgrades too: every request reached one instance.
    await onTransport(viaPath, "websocket");
    assert.equal(await viaPath.emitWithAck("echo", "after upgrade"), "after upgrade");
  });

  it("the legacy /party/:room form addresses main", async () => {
    const socket = client(ph, { transports: ["polling"], path: "/party/legacy/socket.io" });
    const [hello] = await next<[{ room: string; party: string }]>(socket, "hello");
    assert.deepEqual([hello.party, hello.room], ["main", "legacy"]);
  });

  it("two partyIds are isolated: io.emit reaches only its own room", async () => {
    const Broadcast = createServer((io) => {
      io.on("connection", (socket) => {
        socket.on("shout", (text: string) => io.emit("heard", text));
      });
    });
    const ph2 = await serve({ parties: { main: Broadcast } });
    const a1 = await connected(client(ph2, { query: { partyId: "a" } }));
    const a2 = await connected(client(ph2, { query: { partyId: "a" }, transports: ["polling"] }));
    const b1 = await connected(client(ph2, { query: { partyId: "b" } }));
    const heardInB: string[] = [];
    b1.on("heard", (t: string) => heardInB.push(t));
    const got = next<[string]>(a2, "heard");
    a1.emit("shout", "only a");
    assert.deepEqual(await got, ["only a"]);
    // b1 is still there and gets its own room's messages, never a's.
    const own = next<[string]>(b1, "heard");
    b1.emit("shout", "only b");
    assert.deepEqual(await own, ["only b"]);
    assert.deepEqual(heardInB, ["only b"]);
  });
});

describe("served like a standalone server", () => {
  let standalone: { url: string; close(): Promise<void> };
  before(async () => {
    const http = createHttpServer();
    const io = new StandaloneServer(http);
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    standalone = {
      url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      close: () => io.close(),
    };
  });
  after(() => standalone.close());

  it("serves the client bundle at /socket.io/socket.io.js, byte for byte", async () => {
    for (const file of ["socket.io.js", "socket.io.min.js", "socket.io.esm.min.js"]) {
      const ours = await fetch(`${ph.url}/socket.io/${file}`);
      const theirs = await fetch(`${standalone.url}/socket.io/${file}`);
      assert.equal(ours.status, 200);
      assert.equal(ours.headers.get("content-type"), theirs.headers.get("content-type"));
      assert.equal(ours.headers.get("etag"), theirs.headers.get("etag"));
      assert.equal(await ours.text(), await theirs.text());
    }
    const explicit = await fetch(`${ph.url}/parties/main/r/socket.io/socket.io.min.js`);
    assert.equal(explicit.status, 200);
  });

  it("answers 404 for a path of the room outside the Socket.IO path", async () => {
    const res = await fetch(`${ph.url}/parties/main/r/not-socket-io`);
    assert.equal(res.status, 404);
    // Paths outside /socket.io/ are not routed to the Socket.IO party at all.
    const other = await fetch(`${ph.url}/elsewhere?partyId=x`);
    assert.equal(other.status, 404);
  });
});

describe("a custom path", () => {
  it("applies to the default route and to the explicit form", async () => {
    const Custom = createServer({ path: "/rt" }, (io, room) => {
      io.on("connection", (socket) => socket.emit("hello", room.id));
    });
    const ph2 = await serve({ parties: { main: Custom } });
    const viaQuery = client(ph2, { path: "/rt", query: { partyId: "p" } });
    const viaPath = client(ph2, { path: "/parties/main/q/rt", transports: ["websocket"] });
    const [a, b] = await Promise.all([next(viaQuery, "hello"), next(viaPath, "hello")]);
    assert.deepEqual([a, b], [["p"], ["q"]]);
    // The default /socket.io/ path is not Socket.IO's any more.
    const res = await fetch(`${ph2.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(res.status, 404);
  });
});
