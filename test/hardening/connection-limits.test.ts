import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import type { Socket } from "node:net";
import WebSocket from "ws";
import type * as Party from "../../src/server.js";
import { connectionCap } from "../../src/adapters/node/fd-limit.js";
import { Client, closeAll, recordingLogger, serve, waitFor, wsUrl } from "../helpers.js";
import { startChildServer } from "./child-server.js";

class Echo implements Party.Server {
  constructor(readonly room: Party.Room) {}
  onMessage(message: string | ArrayBuffer, sender: Party.Connection) {
    sender.send(`echo:${String(message)}`);
  }
  onRequest() {
    return new Response(`room ${this.room.id}`);
  }
}

const sockets: Socket[] = [];
/** A TCP connection that never sends a byte (or only part of its headers). */
async function idleSocket(port: number, send?: string): Promise<Socket> {
  const s = netConnect({ port, host: "127.0.0.1" });
  sockets.push(s);
  s.on("error", () => {});
  // Read (and drop) what the server sends: a paused socket never sees the end of a connection
  // that was answered (Node may write 408 before it closes) and so never emits "close".
  s.resume();
  await once(s, "connect");
  if (send !== undefined) s.write(send);
  return s;
}
const closedSocket = (s: Socket) =>
  s.destroyed || s.readyState === "closed" ? Promise.resolve() : once(s, "close");

describe("connection limits", () => {
  after(async () => {
    for (const s of sockets) s.destroy();
    await closeAll();
  });

  it("past maxConnectionsPerIp: 503 and 1013, while a client from another address chats", async () => {
    const log = recordingLogger();
    const ph = await serve({
      parties: { main: Echo },
      log,
      limits: { maxConnectionsPerIp: 50, maxConnections: 200 },
    });
    // 50 hostile connections that never speak, then 10 silent WebSockets from the same address.
    const idle = await Promise.all(Array.from({ length: 50 }, () => idleSocket(ph.port)));
    const refusedWs = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const ws = new WebSocket(wsUrl(ph, "/parties/main/flood"));
        ws.on("error", () => {});
        const [code, reason] = (await once(ws, "close")) as [number, Buffer];
        return { code, reason: reason.toString() };
      }),
    );
    for (const r of refusedWs) assert.deepEqual(r, { code: 1013, reason: "Too many connections" });
    const http = await fetch(`${ph.url}/parties/main/flood`);
    assert.equal(http.status, 503);
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_CONNECTION_LIMIT"));

    // A legitimate client from 127.0.0.2 (its own address) still gets in and chats.
    const legit = new WebSocket(wsUrl(ph, "/parties/main/lobby"), { localAddress: "127.0.0.2" });
    await once(legit, "open");
    const reply = once(legit, "message");
    legit.send("hello");
    assert.equal(String((await reply)[0]), "echo:hello");
    legit.close();

    // Once the hostile connections go, the address is welcome again.
    for (const s of idle) s.destroy();
    await waitFor(
      async () => (await fetch(`${ph.url}/parties/main/flood`)).status === 200,
      10_000,
      "the cap to free up",
    );
  });

  it("past maxConnections every address is refused, and a sender of nothing is dropped", async () => {
    const ph = await serve({
      parties: { main: Echo },
      limits: { maxConnections: 5, maxConnectionsPerIp: 100 },
    });
    const held = await Promise.all(Array.from({ length: 5 }, () => idleSocket(ph.port)));
    const refused = await idleSocket(ph.port);
    // A refused connection that sends nothing is dropped within about a second.
    await closedSocket(refused);
    const ws = new WebSocket(wsUrl(ph, "/parties/main/x"), { localAddress: "127.0.0.3" });
    ws.on("error", () => {});
    const [code] = (await once(ws, "close")) as [number];
    assert.equal(code, 1013);
    for (const s of held) s.destroy();
  });

  it("headersTimeoutMs drops connections that send their headers too slowly", async () => {
    const ph = await serve({
      parties: { main: Echo },
      limits: { headersTimeoutMs: 500, requestTimeoutMs: 1000 },
    });
    const silent = await idleSocket(ph.port);
    const slow = await idleSocket(ph.port, "GET /parties/main/x HTTP/1.1\r\nHost: a\r\nX-Slow:");
    // Both are dropped (Node's headersTimeout, or partyhouse's timer for a connection that never
    // sent its headers: the same deadline) while a full request is still answered.
    await Promise.all([closedSocket(silent), closedSocket(slow)]);
    // The server is fine for everyone else.
    assert.equal(await (await fetch(`${ph.url}/parties/main/x`)).text(), "room x");
  });

  it("the heartbeat terminates a peer that stops answering pings; live peers stay", async () => {
    const ph = await serve({
      parties: { main: Echo },
      limits: { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 200 },
    });
    const dead = new WebSocket(wsUrl(ph, "/parties/main/hb"), { autoPong: false });
    dead.on("error", () => {});
    const live = await new Client(wsUrl(ph, "/parties/main/hb")).open();
    let pings = 0;
    live.ws.on("ping", () => pings++);
    const [code] = (await once(dead, "close")) as [number];
    assert.equal(code, 1006, "terminated without a closing handshake");
    await waitFor(() => pings >= 2, 10_000, "the live peer to be pinged twice");
    live.send("still here");
    assert.equal(await live.nextText(), "echo:still here");
    live.close();
  });

  it("maxConnections is lowered to fit ulimit -n, so a flood gets 503 rather than EMFILE", async () => {
    assert.equal(connectionCap(50_000, 20_000), 19_744);
    assert.equal(connectionCap(100, 20_000), 100);
    const server = await startChildServer("fault-server.ts", {}, 400);
    try {
      const line = await server.waitForLog(
        (l) => l.level === "warn" && /maxConnections lowered from 50000 to 144/.test(l.message),
        "the lowered cap",
      );
      assert.ok(line);
      const port = Number(new URL(server.url).port);
      const held = await Promise.all(Array.from({ length: 144 }, () => idleSocket(port)));
      const res = await fetch(`${server.url}/parties/main/x`);
      assert.equal(res.status, 503);
      for (const s of held) s.destroy();
      await waitFor(
        async () => (await fetch(`${server.url}/parties/main/x`)).status === 200,
        10_000,
        "the cap to free up",
      );
    } finally {
      await server.stop();
    }
  });
});
