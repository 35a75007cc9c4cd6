import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import WebSocket from "ws";
import type * as Party from "../../src/server.js";
import { Client, closeAll, recordingLogger, serve, waitFor, wsUrl } from "../helpers.js";

/** onConnect waits until the test lets it go, so messages pile up before the room is ready. */
let release: () => void = () => {};
let connectGate = Promise.resolve();
function holdConnects() {
  connectGate = new Promise<void>((r) => (release = r));
}

class Held implements Party.Server {
  constructor(readonly room: Party.Room) {}
  async onConnect() {
    await connectGate;
  }
  onMessage(message: string | ArrayBuffer, sender: Party.Connection) {
    sender.send(`echo:${typeof message === "string" ? message.length : message.byteLength}`);
  }
}

class Stuck implements Party.Server {
  constructor(readonly room: Party.Room) {}
  onStart() {
    if (this.room.id.startsWith("never")) return new Promise<void>(() => {});
  }
  onConnect(conn: Party.Connection) {
    if (new URL(conn.uri).searchParams.has("hang")) return new Promise<void>(() => {});
    conn.send("welcome");
  }
  onMessage(message: string | ArrayBuffer, sender: Party.Connection) {
    sender.send(`echo:${String(message)}`);
  }
  onRequest() {
    return new Response(`room ${this.room.id}`);
  }
}

describe("bounded buffering before a room is ready", () => {
  after(() => closeAll());

  it("closes a socket with 1008 past maxPendingMessages; a polite one gets everything", async () => {
    const log = recordingLogger();
    const ph = await serve({
      parties: { main: Held },
      log,
      limits: { maxPendingMessages: 10, maxPendingBytes: 1024 * 1024 },
    });
    holdConnects();
    const flood = new Client(wsUrl(ph, "/parties/main/r"));
    const polite = new Client(wsUrl(ph, "/parties/main/r"));
    await Promise.all([flood.open(), polite.open()]);
    for (let i = 0; i < 50; i++) flood.send("x".repeat(100));
    for (let i = 0; i < 5; i++) polite.send("y".repeat(i + 1));
    const closed = await flood.closed;
    assert.deepEqual(closed, {
      code: 1008,
      reason: "Too many messages before the connection was ready",
    });
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_PENDING_LIMIT"));
    release();
    for (let i = 0; i < 5; i++) assert.equal(await polite.nextText(), `echo:${i + 1}`);
    polite.close();
  });

  it("closes a socket with 1008 past maxPendingBytes (1 MiB messages while onConnect waits)", async () => {
    const ph = await serve({
      parties: { main: Held },
      limits: { maxPendingBytes: 3 * 1024 * 1024, maxMessageBytes: 1024 * 1024 },
    });
    holdConnects();
    const flood = await new Client(wsUrl(ph, "/parties/main/big")).open();
    const mib = Buffer.alloc(1024 * 1024, 1);
    for (let i = 0; i < 20; i++) flood.send(mib);
    assert.equal((await flood.closed).code, 1008);
    release();
  });
});

describe("onStart and onConnect that never settle", () => {
  after(() => closeAll());

  it("onStart past startTimeoutMs: the request gets 500, the upgrade 500, the room resets", async () => {
    const log = recordingLogger();
    const ph = await serve({ parties: { main: Stuck }, log, limits: { startTimeoutMs: 300 } });
    const res = await fetch(`${ph.url}/parties/main/never-1`);
    assert.equal(res.status, 500);
    assert.match(
      await res.text(),
      /onStart of party "main" room "never-1" did not settle within 300 ms/,
    );
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_TIMEOUT"));

    const ws = new WebSocket(wsUrl(ph, "/parties/main/never-2"));
    ws.on("error", () => {});
    const [, response] = (await once(ws, "unexpected-response")) as [
      unknown,
      { statusCode: number },
    ];
    assert.equal(response.statusCode, 500);
    ws.terminate();
    // Other rooms never waited.
    assert.equal(await (await fetch(`${ph.url}/parties/main/fine`)).text(), "room fine");
  });

  it("onConnect past connectTimeoutMs: 1011 for the room's sockets, the room starts afresh", async () => {
    const log = recordingLogger();
    const ph = await serve({ parties: { main: Stuck }, log, limits: { connectTimeoutMs: 300 } });
    const bystander = await new Client(wsUrl(ph, "/parties/main/hangs")).open();
    assert.equal(await bystander.nextText(), "welcome");
    const hanging = await new Client(wsUrl(ph, "/parties/main/hangs?hang")).open();
    const reason = /onConnect of party "main" room "hangs" did not settle within 300 ms/;
    const [a, b] = await Promise.all([hanging.closed, bystander.closed]);
    assert.equal(a.code, 1011);
    assert.match(a.reason, reason);
    assert.equal(b.code, 1011, "the room was reset: every socket of it closes");
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_TIMEOUT" && reason.test(e.message)));
    const again = await new Client(wsUrl(ph, "/parties/main/hangs")).open();
    assert.equal(await again.nextText(), "welcome");
    again.send("hi");
    assert.equal(await again.nextText(), "echo:hi");
    again.close();
    await waitFor(() => ph.inspect.room("main", "hangs") !== undefined, 1000, "the new room");
  });
});
