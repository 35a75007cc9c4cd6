import { after, afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "socket.io-client";
import { createServer } from "../../src/socketio/index.js";
import { closeAll, serve, sleep, waitFor } from "../helpers.js";
import { client, connected, disconnectClients, next } from "./sio-helpers.js";

afterEach(disconnectClients);
after(closeAll);

/** Counts room instances, so a test can tell a fresh instance from the one it had. */
let instances = 0;
const Counted = createServer((io, room) => {
  const instance = ++instances;
  io.on("connection", (socket) => {
    socket.on("who", (ack: (room: string, instance: number) => void) => ack(room.id, instance));
  });
});

const who = (s: Socket) =>
  new Promise<[string, number]>((resolve) =>
    s.emit("who", (r: string, i: number) => resolve([r, i])),
  );

describe("eviction", () => {
  for (const transports of [["websocket"], ["polling"]]) {
    it(`a room with a connected ${transports[0]} client is never evicted; once it leaves, it is`, async () => {
      const ph = await serve({ parties: { main: Counted }, limits: { idleTimeoutMs: 50 } });
      const partyId = `idle-${transports[0]}`;
      const s = await connected(client(ph, { transports, query: { partyId } }));
      const [, first] = await who(s);
      // Many idle timeouts (the sweeper runs every ~12 ms here) with a quiet, connected client.
      await sleep(500);
      assert.ok(ph.inspect.room("main", partyId), "the room is still live");
      assert.deepEqual(await who(s), [partyId, first]);

      s.disconnect();
      await waitFor(() => ph.inspect.room("main", partyId) === undefined, 5000, "eviction");
      // The next client gets a new instance (constructor and setup ran again).
      const again = await connected(client(ph, { transports, query: { partyId } }));
      const [room, second] = await who(again);
      assert.equal(room, partyId);
      assert.notEqual(second, first);
    });
  }

  it("other rooms are evicted while one room keeps its client", async () => {
    const ph = await serve({ parties: { main: Counted }, limits: { idleTimeoutMs: 50 } });
    const stay = await connected(
      client(ph, { transports: ["websocket"], query: { partyId: "stay" } }),
    );
    const leave = await connected(
      client(ph, { transports: ["polling"], query: { partyId: "leave" } }),
    );
    leave.disconnect();
    await waitFor(
      () => ph.inspect.room("main", "leave") === undefined,
      5000,
      "eviction of 'leave'",
    );
    assert.ok(ph.inspect.room("main", "stay"));
    assert.equal((await who(stay))[0], "stay");
  });
});

describe("history in room.storage", () => {
  /** The chat's storage pattern: every message appended under one key, replayed on connect. */
  const Chat = createServer((io, room) => {
    io.on("connection", async (socket) => {
      socket.emit("history", (await room.storage.get<string[]>("history")) ?? []);
      socket.on("say", async (text: string, ack: () => void) => {
        const history = (await room.storage.get<string[]>("history")) ?? [];
        history.push(text);
        await room.storage.put("history", history);
        io.emit("said", text);
        ack();
      });
    });
  });

  it("survives a server restart with a SQLite file, per partyId", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ph-sio-history-"));
    const path = join(dir, "state.db");
    try {
      const first = await serve({ parties: { main: Chat }, storage: { kind: "sqlite", path } });
      const a = client(first, { query: { partyId: "one" } });
      assert.deepEqual(await next(a, "history"), [[]]);
      await a.emitWithAck("say", "hello");
      await a.emitWithAck("say", "world");
      const b = client(first, { transports: ["websocket"], query: { partyId: "two" } });
      assert.deepEqual(await next(b, "history"), [[]]);
      await b.emitWithAck("say", "other room");
      a.disconnect();
      b.disconnect();
      await first.close();

      const second = await serve({ parties: { main: Chat }, storage: { kind: "sqlite", path } });
      const a2 = client(second, { transports: ["polling"], query: { partyId: "one" } });
      const b2 = client(second, { transports: ["websocket"], query: { partyId: "two" } });
      const [h1, h2] = await Promise.all([next(a2, "history"), next(b2, "history")]);
      assert.deepEqual(h1, [["hello", "world"]]);
      assert.deepEqual(h2, [["other room"]]);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("shutdown and reload with clients connected", () => {
  const Version = (v: number) =>
    createServer((io) => {
      io.on("connection", (socket) => {
        socket.on("version", (ack: (v: number) => void) => ack(v));
      });
    });

  it("close() disconnects every Socket.IO client and resolves", async () => {
    const ph = await serve({ parties: { main: Version(1) } });
    const ws = await connected(client(ph, { transports: ["websocket"], query: { partyId: "a" } }));
    const poll = await connected(client(ph, { transports: ["polling"], query: { partyId: "b" } }));
    const gone = Promise.all([next(ws, "disconnect"), next(poll, "disconnect")]);
    await ph.close();
    const [[wsReason], [pollReason]] = await gone;
    assert.equal(wsReason, "transport close");
    // The pending long-poll is cut when the server ends its connections.
    assert.ok(
      ["transport close", "transport error"].includes(pollReason as string),
      String(pollReason),
    );
  });

  it("a code reload closes the old rooms' sockets; clients reconnect to the new code", async () => {
    const ph = await serve({ parties: { main: Version(1) } });
    const s = await connected(
      client(ph, { query: { partyId: "r" }, reconnection: true, reconnectionDelay: 50 }),
    );
    assert.equal(await s.emitWithAck("version"), 1);
    const back = next(s, "connect");
    ph.reload({ main: Version(2) });
    await back;
    assert.equal(await s.emitWithAck("version"), 2);
  });
});

describe("extending the class", () => {
  it("a subclass adds onAlarm and uses this.io and this.room", async () => {
    class Ticking extends createServer((io, room) => {
      io.on("connection", (socket) => {
        socket.on("arm", async (ack: () => void) => {
          await room.storage.setAlarm(Date.now() + 10);
          ack();
        });
      });
    }) {
      onAlarm() {
        this.io.emit("tick", this.room.id);
      }
    }
    const ph = await serve({ parties: { main: Ticking } });
    const s = await connected(
      client(ph, { transports: ["websocket"], query: { partyId: "alarm" } }),
    );
    const tick = next(s, "tick");
    await s.emitWithAck("arm");
    assert.deepEqual(await tick, ["alarm"]);
  });
});
