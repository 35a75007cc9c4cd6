// Every road into a room asks the placement first: HTTP requests, WebSocket upgrades, Socket.IO's
// raw transport, party stubs and alarms. A placement that places a room elsewhere makes every one
// of those roads refuse (503, PH_ERR_NOT_OWNER) instead of creating a second instance here.
import assert from "node:assert/strict";
import { after, afterEach, describe, it } from "node:test";
import { LocalPlacement } from "../../src/core/placement.js";
import type { Placement, RoomLocation } from "../../src/core/placement.js";
import type { RoomRef } from "../../src/core/api/storage-api.js";
import type * as Party from "../../src/core/api/types.js";
import { createServer } from "../../src/socketio/index.js";
import { Client, closeAll, recordingLogger, serve, waitFor, wsUrl } from "../helpers.js";
import { client, connected, disconnectClients } from "../socketio/sio-helpers.js";

/** LocalPlacement, except for rooms named "away-*", which another node owns. */
class SplitPlacement implements Placement {
  readonly located: string[] = [];
  readonly released: string[] = [];
  readonly #local = new LocalPlacement();
  locate(ref: RoomRef): RoomLocation | Promise<RoomLocation> {
    this.located.push(`${ref.party}/${ref.room}`);
    if (ref.room.startsWith("away-")) return { kind: "remote", url: "http://node-b.invalid:1999" };
    // Claims in a cluster are asynchronous: answer on a later turn to exercise that path.
    return new Promise((r) => setTimeout(() => r(this.#local.locate()), 1));
  }
  release(ref: RoomRef): void {
    this.released.push(`${ref.party}/${ref.room}`);
  }
}

let starts = 0;
class Room implements Party.Server {
  constructor(readonly room: Party.Room) {}
  onStart(): void {
    starts++;
  }
  onConnect(conn: Party.Connection): void {
    conn.send(`hello ${this.room.id}`);
  }
  async onRequest(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const to = url.searchParams.get("stub");
    if (to !== null) {
      const res = await this.room.context.parties.main!.get(to).fetch("/");
      return new Response(`${res.status} ${await res.text()}`);
    }
    if (url.searchParams.has("alarm")) {
      await this.room.storage.setAlarm(Date.now() + 30);
      return new Response("armed");
    }
    return new Response(`room ${this.room.id}`);
  }
  async onAlarm(): Promise<void> {
    await this.room.storage.put("alarmed", true);
  }
}

const Sio = createServer((io) => {
  io.on("connection", (socket) => socket.emit("hi", "there"));
});

describe("the placement seam", () => {
  afterEach(disconnectClients);
  after(closeAll);

  it("is asked once per room taken on, by every road, and told when a room goes", async () => {
    const placement = new SplitPlacement();
    const ph = await serve({
      parties: { main: Room, sio: Sio },
      placement,
      limits: { idleTimeoutMs: 1000 },
    });
    // HTTP request, twice: the second reaches the live room without asking again.
    assert.equal(await (await fetch(`${ph.url}/parties/main/a`)).text(), "room a");
    assert.equal(await (await fetch(`${ph.url}/parties/main/a`)).text(), "room a");
    // WebSocket upgrade.
    const c = await new Client(wsUrl(ph, "/parties/main/b")).open();
    assert.equal(await c.next(), "hello b");
    // A party stub from inside a room.
    assert.equal(await (await fetch(`${ph.url}/parties/main/a?stub=c`)).text(), "200 room c");
    // Socket.IO's raw transport (polling handshake, then upgrade) of room "d".
    const s = await connected(client(ph, { path: "/parties/sio/d/socket.io" }));
    s.disconnect();
    assert.deepEqual(placement.located, ["main/a", "main/b", "main/c", "sio/d"]);
    c.ws.close();
    await waitFor(() => ph.inspect.counts().rooms === 0, 10_000, "eviction");
    assert.deepEqual([...placement.released].sort(), ["main/a", "main/b", "main/c", "sio/d"]);
  });

  it("fires a stored alarm through the entrance after the room was evicted", async () => {
    const placement = new SplitPlacement();
    const ph = await serve({ parties: { main: Room }, placement, limits: { idleTimeoutMs: 10 } });
    assert.equal(await (await fetch(`${ph.url}/parties/main/e?alarm`)).text(), "armed");
    await waitFor(
      async () => (await (await ph.inspect.storage("main", "e")).get("alarmed")) === true,
      10_000,
      "the alarm ran",
    );
    assert.ok(placement.located.filter((r) => r === "main/e").length >= 1);
  });

  it("refuses every road to a room owned elsewhere, and never starts it here", async () => {
    const log = recordingLogger();
    const ph = await serve({
      parties: { main: Room, sio: Sio },
      placement: new SplitPlacement(),
      log,
    });
    starts = 0;
    const res = await fetch(`${ph.url}/parties/main/away-1`);
    assert.equal(res.status, 503);
    const refused = new Client(wsUrl(ph, "/parties/main/away-2"));
    const status = await new Promise<number>((resolve) => {
      refused.ws.on("unexpected-response", (_req, r) => resolve(r.statusCode ?? 0));
    });
    assert.equal(status, 503);
    // The stub's fetch rejects inside onRequest, which PartyKit answers with 500 and the message.
    const viaStub = await fetch(`${ph.url}/parties/main/home?stub=away-3`);
    assert.equal(viaStub.status, 500);
    assert.match(await viaStub.text(), /owned by http:\/\/node-b\.invalid:1999/);
    const sio = await fetch(`${ph.url}/parties/sio/away-4/socket.io/?EIO=4&transport=polling`);
    assert.equal(sio.status, 503);
    assert.equal(starts, 1, "only the room at home started");
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_NOT_OWNER"));
  });
});
