import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Client } from "../helpers.js";
import { client, connected, disconnectClients } from "../socketio/sio-helpers.js";
import { startChildServer } from "./child-server.js";
import type { ChildServer } from "./child-server.js";

/**
 * Faults of party code outside any handler: each must reset only the room it came from (its
 * sockets closed 1011, storage kept), never the process or another room. The server runs in a
 * child process, as `partyhouse start` would, so a regression kills the child, not the runner.
 */
describe("fault isolation", () => {
  let server: ChildServer;
  before(async () => {
    server = await startChildServer("fault-server.ts");
  });
  after(async () => {
    disconnectClients();
    await server.stop();
  });

  const open = (path: string) => new Client(server.wsUrl(path)).open();

  const faults = [
    { message: "reject", kind: "unhandledRejection", text: "boom-reject" },
    { message: "timer", kind: "uncaughtException", text: "Cannot read properties of null" },
    { message: "bigput", kind: "unhandledRejection", text: "cannot be larger than 131072 bytes" },
    { message: "microtask", kind: "uncaughtException", text: "boom-microtask" },
  ];

  for (const fault of faults) {
    it(`${fault.message}: resets only the room it came from, storage intact`, async () => {
      const room = `victim-${fault.message}`;
      const a1 = await open(`/parties/main/${room}`);
      const a2 = await open(`/parties/main/${room}`);
      const other = await open(`/parties/main/bystander-${fault.message}`);
      a1.send("put:kept");
      assert.equal(await a1.nextText(), "stored");

      a1.send(fault.message);
      const [c1, c2] = await Promise.all([a1.closed, a2.closed]);
      assert.deepEqual(c1, { code: 1011, reason: "Room reset after an uncaught error" });
      assert.equal(c2.code, 1011);

      const line = await server.waitForLog(
        (l) => l.code === "PH_ERR_ROOM_FAULT" && l.room === room,
        `PH_ERR_ROOM_FAULT for ${room}`,
      );
      assert.equal(line.party, "main");
      assert.equal(line.kind, fault.kind);
      assert.match(line.message, new RegExp(fault.text.replace(/[()]/g, "\\$&")));

      // The other room never noticed; the failed room comes back with its storage.
      other.send("still-there");
      assert.equal(await other.nextText(), "echo:still-there");
      const again = await open(`/parties/main/${room}`);
      again.send("hello");
      assert.equal(await again.nextText(), "echo:hello");
      const stored = await fetch(`${server.url}/parties/main/${room}`);
      assert.equal(await stored.text(), "kept");
      assert.equal(server.exitCode, null);
      other.close();
      again.close();
    });
  }

  it("a reset instance's timer that keeps failing never resets the room's next instance", async () => {
    const first = await open("/parties/main/interval");
    first.send("interval");
    assert.equal((await first.closed).code, 1011);
    const fresh = await open("/parties/main/interval");
    // The interval of the dropped instance throws again; it is logged once and resets nothing.
    await server.waitForLog(
      (l) => l.room === "interval" && /no longer live/.test(l.message),
      "the stale fault",
    );
    fresh.send("alive");
    assert.equal(await fresh.nextText(), "echo:alive");
    const resets = server
      .logs()
      .filter((l) => l.code === "PH_ERR_ROOM_FAULT" && l.room === "interval");
    assert.equal(resets.length, 2, "one reset, then one line for the stale instance");
    fresh.close();
  });

  it("a fault nobody can be blamed for is logged and the process goes on", async () => {
    const bystander = await open("/parties/main/unattributed-bystander");
    const res = await fetch(`${server.url}/not-a-room`);
    assert.equal(await res.text(), "scheduled");
    const line = await server.waitForLog(
      (l) => l.code === "PH_ERR_UNATTRIBUTED_FAULT",
      "PH_ERR_UNATTRIBUTED_FAULT",
    );
    assert.match(line.message, /boom-unattributed/);
    bystander.send("ping");
    assert.equal(await bystander.nextText(), "echo:ping");
    assert.equal(server.exitCode, null);
    bystander.close();
  });

  it("a rejection left by a Socket.IO event handler resets that room only", async () => {
    const sio = (room: string) =>
      client(server.url, { path: `/parties/sio/${room}/socket.io`, transports: ["websocket"] });
    const victim = await connected(sio("sio-victim"));
    const bystander = await connected(sio("sio-bystander"));
    const gone = new Promise((resolve) => victim.once("disconnect", resolve));
    victim.emit("boom");
    await gone;
    const line = await server.waitForLog(
      (l) => l.code === "PH_ERR_ROOM_FAULT" && l.room === "sio-victim",
      "PH_ERR_ROOM_FAULT for sio-victim",
    );
    assert.equal(line.party, "sio");
    assert.match(line.message, /boom-socketio/);
    assert.equal(await bystander.timeout(5000).emitWithAck("hi"), "hello");
    const again = await connected(sio("sio-victim"));
    assert.equal(await again.timeout(5000).emitWithAck("hi"), "hello");
  });
});
