import { after, afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import WebSocket from "ws";
import type * as Party from "../../src/server.js";
import { createServer } from "../../src/socketio/index.js";
import { closeAll, serve, waitFor } from "../helpers.js";
import { client, connected, disconnectClients } from "../socketio/sio-helpers.js";

const calls: string[] = [];

/** A Socket.IO party with a gate: only `?token=ok` may reach the room, on either transport. */
class Guarded extends createServer((io) => {
  io.on("connection", (socket) => socket.on("hi", (ack: (s: string) => void) => ack("hello")));
}) {
  static onBeforeRequest(req: Party.Request) {
    calls.push(`request ${req.method}`);
    if (new URL(req.url).searchParams.get("token") !== "ok") {
      return new Response("Forbidden", { status: 403 });
    }
    return req;
  }
  static onBeforeConnect(req: Party.Request) {
    calls.push("connect");
    if (new URL(req.url).searchParams.get("token") !== "ok") throw new Error("bad token");
    return req;
  }
}

describe("a Socket.IO party's onBeforeRequest/onBeforeConnect guard its transport", () => {
  afterEach(() => disconnectClients());
  after(() => closeAll());

  it("refuses the handshake over polling and over websocket, on both routes", async () => {
    const ph = await serve({ parties: { main: Guarded } });
    for (const path of ["/socket.io", "/parties/main/room-1/socket.io"]) {
      const polling = client(ph, { path, transports: ["polling"], query: { token: "no" } });
      await assert.rejects(connected(polling));
      const websocket = client(ph, { path, transports: ["websocket"], query: { token: "no" } });
      await assert.rejects(connected(websocket));
    }
    // By hand: the polling handshake and a raw upgrade.
    const res = await fetch(`${ph.url}/socket.io/?EIO=4&transport=polling&partyId=x`);
    assert.equal(res.status, 403);
    const ws = new WebSocket(
      `${ph.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`,
    );
    ws.on("error", () => {});
    const [, response] = (await once(ws, "unexpected-response")) as [
      unknown,
      { statusCode: number },
    ];
    assert.equal(response.statusCode, 401);
    ws.terminate();
  });

  it("lets a client with the token through, polling then upgrading, every request gated", async () => {
    const ph = await serve({ parties: { main: Guarded } });
    calls.length = 0;
    const socket = client(ph, { query: { token: "ok", partyId: "g" } });
    await connected(socket);
    await waitFor(() => socket.io.engine.transport.name === "websocket", 10_000, "the upgrade");
    assert.equal(await socket.timeout(5000).emitWithAck("hi"), "hello");
    assert.ok(calls.includes("request GET"), calls.join());
    assert.ok(calls.includes("request POST"), calls.join());
    assert.ok(calls.includes("connect"), calls.join());
  });
});
