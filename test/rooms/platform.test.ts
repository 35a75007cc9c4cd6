import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Socket } from "node:net";
import { join } from "node:path";
import WebSocket from "ws";
import { createAssetHandler } from "../../src/assets/index.js";
import { scheduleCrons } from "../../src/cli/crons.js";
import type * as Party from "../../src/server.js";
import { closeAll, connect, partySocket, recordingLogger, serve, waitFor } from "../helpers.js";

after(closeAll);

function site(): string {
  const dir = mkdtempSync(join(tmpdir(), "ph-site-"));
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "index.html"), "<h1>home</h1>");
  writeFileSync(join(dir, "404.html"), "<h1>custom not found</h1>");
  writeFileSync(join(dir, "app", "data.json"), '{"ok":true}');
  return dir;
}

describe("static assets, onFetch and 404.html, in PartyKit's order", () => {
  class Main implements Party.Server {
    constructor(readonly room: Party.Room) {}
    static onFetch(req: Party.Request) {
      const url = new URL(req.url);
      if (url.pathname === "/app/data.json")
        return new Response("onFetch should not win over an asset");
      if (url.pathname === "/api") return new Response("from onFetch");
      return null;
    }
    async onRequest() {
      const asset = await this.room.context.assets.fetch("/app/data.json");
      return new Response(asset ? await asset.text() : "no asset");
    }
  }

  it("serves assets first, then onFetch, then 404.html with status 404; rooms can read assets", async () => {
    const path = site();
    const assets = createAssetHandler(
      { path, singlePageApp: false, browserTTL: null, edgeTTL: null, include: [], exclude: [] },
      { dev: true },
    );
    const ph = await serve({
      parties: { main: Main },
      siteAssets: assets,
      notFoundPage: () => assets.fetchAsset("/404.html"),
      assets: { fetch: (p) => assets.fetchAsset(p) },
    });
    const home = await fetch(ph.url + "/");
    assert.equal(await home.text(), "<h1>home</h1>");
    assert.match(home.headers.get("content-type") ?? "", /text\/html/);
    assert.equal(await (await fetch(ph.url + "/app/data.json")).text(), '{"ok":true}');
    assert.equal(await (await fetch(ph.url + "/api")).text(), "from onFetch");
    const missing = await fetch(ph.url + "/nope");
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "<h1>custom not found</h1>");
    assert.equal(await (await fetch(ph.url + "/parties/main/r")).text(), '{"ok":true}');
  });

  it("falls back to index.html for navigations in a single-page app", async () => {
    const path = site();
    const assets = createAssetHandler(
      { path, singlePageApp: true, browserTTL: null, edgeTTL: null, include: [], exclude: [] },
      { dev: true },
    );
    const ph = await serve({ parties: { main: Main }, siteAssets: assets });
    // Node's fetch forces `sec-fetch-mode: cors`, so speak plain HTTP as a browser navigation does.
    const http = await import("node:http");
    const nav = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get(
        ph.url + "/some/client/route",
        { headers: { "sec-fetch-mode": "navigate" } },
        (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
    });
    assert.equal(nav.status, 200);
    assert.equal(nav.body, "<h1>home</h1>");
  });
});

describe("crons", () => {
  it("calls the main party's static onCron on schedule and from /__scheduled__", async () => {
    const ticks: string[] = [];
    class Main implements Party.Server {
      static onCron(cron: Party.Cron, lobby: Party.CronLobby) {
        ticks.push(`${cron.name}:${cron.cron}:${String(lobby.env.X)}`);
      }
      onConnect() {}
    }
    const crons = { everySecond: "* * * * * *" };
    const ph = await serve({ parties: { main: Main }, crons, env: { X: "y" } });
    const res = await fetch(`${ph.url}/__scheduled__?cron=everySecond`);
    assert.equal(await res.text(), "ran cron everySecond: * * * * * *");
    assert.equal(ticks.length, 1);
    const jobs = scheduleCrons(crons, (name, expr) => ph.runCron(name, expr), recordingLogger());
    await waitFor(() => ticks.length >= 2, 5000, "a scheduled tick");
    jobs.stop();
    assert.equal(ticks[1], "everySecond:* * * * * *:y");
  });
});

describe("bad input on the wire", () => {
  it("delivers a text frame that is not UTF-8 with U+FFFD replacements, as workerd does", async () => {
    class Room implements Party.Server {
      onMessage(message: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
        sender.send(`ok:${String(message)}`);
      }
    }
    const ph = await serve({ parties: { main: Room } });
    const c = await connect(ph, "/parties/main/r");
    c.ws.send(Buffer.from([0x68, 0x69, 0xff, 0xfe]), { binary: false });
    assert.equal(await c.nextText(), "ok:hi\ufffd\ufffd");
    c.send("still open");
    assert.equal(await c.nextText(), "ok:still open");
    c.close();
  });

  it("reports a malformed frame to onError, closes that socket with 1002, and keeps the room", async () => {
    const errors: string[] = [];
    const closes: string[] = [];
    class Room implements Party.Server {
      onConnect(conn: Party.Connection) {
        conn.addEventListener("close", () => closes.push(`listener:${conn.id}`));
      }
      onMessage(message: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
        sender.send(`ok:${String(message)}`);
      }
      onError(conn: Party.Connection, error: Error) {
        errors.push(`${conn.id}:${error.message}`);
      }
      onClose(conn: Party.Connection) {
        closes.push(`onClose:${conn.id}`);
      }
    }
    const ph = await serve({ parties: { main: Room } });
    const bad = await connect(ph, "/parties/main/r?_pk=bad");
    const good = await connect(ph, "/parties/main/r?_pk=good");
    // A frame with RSV1 set although no extension was negotiated (RFC 6455 §5.2).
    (bad.ws as unknown as { _socket: Socket })._socket.write(
      Buffer.from([0xc1, 0x82, 0, 0, 0, 0, 0x68, 0x69]),
    );
    assert.equal((await bad.closed).code, 1002);
    await waitFor(() => errors.length > 0, 5000, "onError");
    assert.match(errors[0]!, /^bad:/);
    good.send("fine");
    assert.equal(await good.nextText(), "ok:fine");
    // As on workerd, a socket that errored reports nothing after onError: no onClose, no event.
    assert.deepEqual(closes, []);
    good.close();
    await waitFor(() => closes.length === 2, 5000, "the clean close");
    assert.deepEqual(closes.sort(), ["listener:good", "onClose:good"]);
  });

  it("answers garbage on the TCP port with 400 and keeps serving", async () => {
    class Room implements Party.Server {
      onRequest() {
        return new Response("alive");
      }
    }
    const ph = await serve({ parties: { main: Room } });
    const net = await import("node:net");
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(ph.port, "127.0.0.1", () =>
        s.write("\x00\x01 not http at all\r\n\r\n"),
      );
      let out = "";
      s.on("data", (d) => (out += d.toString()));
      s.on("close", () => resolve(out));
    });
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.equal(await (await fetch(`${ph.url}/parties/main/r`)).text(), "alive");
  });
});

describe("partysocket across a full server restart", () => {
  it("reconnects to a new process on the same port and finds the room's storage", async () => {
    class Counter implements Party.Server {
      constructor(readonly room: Party.Room) {}
      async onConnect(conn: Party.Connection) {
        const n = ((await this.room.storage.get<number>("connects")) ?? 0) + 1;
        await this.room.storage.put("connects", n);
        conn.send(`connect #${n}`);
      }
    }
    const dir = mkdtempSync(join(tmpdir(), "ph-restart-"));
    const storage = { kind: "sqlite" as const, path: join(dir, "s.sqlite3") };
    const first = await serve({ parties: { main: Counter }, storage });
    const ps = partySocket(first, { room: "r" });
    const got: string[] = [];
    ps.addEventListener("message", (e) => got.push(String(e.data)));
    await waitFor(() => got.includes("connect #1"), 5000, "first connect");
    await first.close();
    const second = await serve({ parties: { main: Counter }, storage, port: first.port });
    await waitFor(() => got.includes("connect #2"), 10000, "reconnect after restart");
    ps.close();
    await second.close();
    assert.ok(WebSocket);
  });
});
