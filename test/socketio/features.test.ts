import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Socket as ServerSocket } from "socket.io";
import { createServer } from "../../src/socketio/index.js";
import type { Partyhouse } from "../../src/runtime/start.js";
import { closeAll, serve, waitFor } from "../helpers.js";
import { client, connected, disconnectClients, next } from "./sio-helpers.js";

/**
 * One party exercising the Socket.IO server API. Every test runs over both transports, in its
 * own partyId, so the rooms (and their Socket.IO servers) never share state.
 */
const Features = createServer((io, room) => {
  // Namespace middleware: refuse a bad token with a connect_error that carries data.
  io.use((socket, next) => {
    if (socket.handshake.auth.token === "bad") {
      const err = new Error("not authorized") as Error & { data?: unknown };
      err.data = { reason: "token", room: room.id };
      return next(err);
    }
    next();
  });

  io.on("connection", (socket) => {
    // Packet middleware: an event named "forbidden" is rejected with an "error" event.
    socket.use(([event], next) => {
      if (event === "forbidden") return next(new Error("forbidden event"));
      next();
    });
    // As in standalone Socket.IO, a packet middleware error surfaces as "error" on the server socket.
    socket.on("error", (err) => socket.emit("rejected", err.message));
    socket.on("join", (name: string, ack: () => void) => {
      void socket.join(name);
      ack();
    });
    socket.on("to room", (name: string, msg: string) => io.to(name).emit("room msg", msg));
    socket.on("to others in room", (name: string, msg: string) =>
      socket.to(name).emit("room msg", msg),
    );
    socket.on("except room", (name: string, msg: string) =>
      io.except(name).emit("except msg", msg),
    );
    socket.on("broadcast", (msg: string) => socket.broadcast.emit("broadcast msg", msg));
    socket.on("volatile", (msg: string) => io.volatile.emit("volatile msg", msg));
    socket.on("sum", (a: number, b: number, ack: (s: number) => void) => ack(a + b));
    socket.on("binary", (buf: Buffer, ack: (b: Buffer, size: number) => void) =>
      ack(Buffer.concat([buf, Buffer.from([255])]), buf.length),
    );
    socket.on("ask client", async (ack: (answer: unknown) => void) => {
      ack(await socket.emitWithAck("question", "2+2?"));
    });
    socket.on("ask silent client", async (ack: (answer: string) => void) => {
      try {
        await socket.timeout(100).emitWithAck("question", "anyone?");
        ack("answered");
      } catch (e) {
        ack(`timeout: ${(e as Error).message}`);
      }
    });
    socket.on("ask all", (ack: (answers: unknown) => void) => {
      io.timeout(2000).emit("question", "all?", (err: Error | null, answers: unknown[]) => {
        ack(err ? `error: ${err.message}` : [...answers].sort());
      });
    });
    socket.on("fetch sockets", async (ack: (ids: string[]) => void) => {
      const sockets = await io.in("club").fetchSockets();
      ack(sockets.map((s) => s.id).sort());
    });
    socket.on("all join", (name: string, ack: () => void) => {
      io.socketsJoin(name);
      ack();
    });
    socket.on("kick room", (name: string) => io.in(name).disconnectSockets(true));
  });

  io.of("/admin").on("connection", (socket) => {
    socket.emit("admin hello", socket.nsp.name, room.id);
  });

  // Dynamic namespaces: any /team-<name> is created on first connection.
  io.of(/^\/team-\w+$/).on("connection", (socket: ServerSocket) => {
    const nsp = socket.nsp;
    socket.emit("team hello", nsp.name);
    socket.on("team shout", (msg: string) => nsp.emit("team msg", msg));
  });
});

let ph: Partyhouse;
before(async () => {
  ph = await serve({ parties: { main: Features } });
});
afterEach(disconnectClients);
after(closeAll);

let rooms = 0;
for (const transports of [["polling"], ["websocket"]]) {
  const open = async (opts: Parameters<typeof client>[1] & { partyId: string }) => {
    const { partyId, ...rest } = opts;
    return connected(client(ph, { transports, query: { partyId }, ...rest }));
  };
  const fresh = () => `${transports[0]}-${++rooms}`;

  describe(`over ${transports[0]}`, () => {
    it("static namespaces: the main and /admin share one connection", async () => {
      const partyId = fresh();
      const main = await open({ partyId });
      const admin = client(ph, { transports, query: { partyId }, nsp: "/admin" });
      const [name, roomId] = await next<[string, string]>(admin, "admin hello");
      assert.deepEqual([name, roomId], ["/admin", partyId]);
      assert.ok(main.connected);
      const unknown = client(ph, { transports, query: { partyId }, nsp: "/nope" });
      await assert.rejects(connected(unknown), /Invalid namespace/);
    });

    it("dynamic namespaces are created on demand, each with its own sockets", async () => {
      const partyId = fresh();
      const red1 = client(ph, { transports, query: { partyId }, nsp: "/team-red" });
      const red2 = client(ph, { transports, query: { partyId }, nsp: "/team-red" });
      const blue = client(ph, { transports, query: { partyId }, nsp: "/team-blue" });
      assert.deepEqual(await next(red1, "team hello"), ["/team-red"]);
      assert.deepEqual(await next(red2, "team hello"), ["/team-red"]);
      assert.deepEqual(await next(blue, "team hello"), ["/team-blue"]);
      const blueGot: string[] = [];
      blue.on("team msg", (m: string) => blueGot.push(m));
      const got = next(red2, "team msg");
      red1.emit("team shout", "go red");
      assert.deepEqual(await got, ["go red"]);
      const own = next(blue, "team msg");
      blue.emit("team shout", "go blue");
      assert.deepEqual(await own, ["go blue"]);
      assert.deepEqual(blueGot, ["go blue"]);
    });

    it("rooms and broadcast operators: to, socket.to, except, broadcast, volatile", async () => {
      const partyId = fresh();
      const a = await open({ partyId });
      const b = await open({ partyId });
      const c = await open({ partyId });
      await a.emitWithAck("join", "club");
      await b.emitWithAck("join", "club");
      const seen: Record<string, string[]> = { a: [], b: [], c: [] };
      for (const [name, s] of Object.entries({ a, b, c })) {
        s.onAny((event: string, msg: string) => seen[name]!.push(`${event}:${msg}`));
      }
      // io.to(room) reaches both members, not c.
      const bothA = next(a, "room msg");
      const bothB = next(b, "room msg");
      c.emit("to room", "club", "m1");
      await Promise.all([bothA, bothB]);
      // socket.to(room) skips the sender.
      const onlyB = next(b, "room msg");
      a.emit("to others in room", "club", "m2");
      await onlyB;
      // except(room) reaches only c.
      const onlyC = next(c, "except msg");
      a.emit("except room", "club", "m3");
      await onlyC;
      // socket.broadcast reaches everyone but the sender.
      const toB = next(b, "broadcast msg");
      const toC = next(c, "broadcast msg");
      a.emit("broadcast", "m4");
      await Promise.all([toB, toC]);
      // volatile still delivers to connected, writable clients.
      const vol = next(c, "volatile msg");
      a.emit("volatile", "m5");
      await vol;
      // A final round trip on each socket, so nothing is still in flight when we compare.
      await Promise.all([a, b, c].map((s) => s.emitWithAck("sum", 0, 0)));
      assert.deepEqual(seen.a, ["room msg:m1", "volatile msg:m5"]);
      assert.deepEqual(seen.b, [
        "room msg:m1",
        "room msg:m2",
        "broadcast msg:m4",
        "volatile msg:m5",
      ]);
      assert.deepEqual(seen.c, ["except msg:m3", "broadcast msg:m4", "volatile msg:m5"]);
    });

    it("acks both ways, emitWithAck, and timeout()", async () => {
      const partyId = fresh();
      const s = await open({ partyId });
      assert.equal(await s.emitWithAck("sum", 2, 3), 5);
      // Server → client ack: the server asks, the client answers, the server acks the answer back.
      s.on("question", (q: string, ack: (a: string) => void) => ack(`answer to ${q}`));
      assert.equal(await s.emitWithAck("ask client"), "answer to 2+2?");
      // Server-side timeout when the client never acks.
      const silent = await open({ partyId });
      silent.on("question", () => {});
      assert.equal(
        await silent.emitWithAck("ask silent client"),
        "timeout: operation has timed out",
      );
      // Broadcast with acks and a timeout collects every client's answer.
      assert.equal(await s.emitWithAck("ask all"), "error: operation has timed out");
      silent.off("question");
      silent.on("question", (_q: string, ack: (a: string) => void) => ack("silent says hi"));
      assert.deepEqual(await s.emitWithAck("ask all"), ["answer to all?", "silent says hi"]);
      // Client-side timeout against an event the server never acks.
      await assert.rejects(
        s.timeout(100).emitWithAck("no such handler"),
        /operation has timed out/,
      );
    });

    it("binary payloads round-trip", async () => {
      const partyId = fresh();
      const s = await open({ partyId });
      const sent = Buffer.from([0, 1, 2, 3, 254]);
      const [back, size] = await new Promise<[Buffer, number]>((resolve) =>
        s.emit("binary", sent, (b: Buffer, n: number) => resolve([b, n])),
      );
      assert.equal(size, 5);
      assert.deepEqual([...Buffer.from(back)], [0, 1, 2, 3, 254, 255]);
    });

    it("io.use refuses with connect_error (message and data); socket.use rejects one packet", async () => {
      const partyId = fresh();
      const refused = client(ph, { transports, query: { partyId }, auth: { token: "bad" } });
      const err = (await connected(refused).catch((e: unknown) => e)) as Error & { data?: unknown };
      assert.equal(err.message, "not authorized");
      assert.deepEqual(err.data, { reason: "token", room: partyId });
      const ok = await open({ partyId, auth: { token: "good" } });
      const rejected = next(ok, "rejected");
      ok.emit("forbidden");
      assert.deepEqual(await rejected, ["forbidden event"]);
      assert.ok(ok.connected);
      assert.equal(await ok.emitWithAck("sum", 1, 1), 2);
    });

    it("fetchSockets, socketsJoin and disconnectSockets", async () => {
      const partyId = fresh();
      const a = await open({ partyId });
      const b = await open({ partyId });
      await a.emitWithAck("join", "club");
      assert.deepEqual(await b.emitWithAck("fetch sockets"), [a.id]);
      await b.emitWithAck("all join", "club");
      assert.deepEqual(await b.emitWithAck("fetch sockets"), [a.id, b.id].sort());
      const reasons = Promise.all([a, b].map(async (s) => (await next(s, "disconnect"))[0]));
      a.emit("kick room", "club");
      assert.deepEqual(await reasons, ["io server disconnect", "io server disconnect"]);
      await waitFor(() => !a.connected && !b.connected, 5000, "both disconnected");
    });
  });
}
