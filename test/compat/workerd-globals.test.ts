/**
 * workerd globals in party code, through the real CLI (esbuild bundle + server): WebSocketPair,
 * and a Response with status 101 + webSocket that upgrades the requesting client.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { startCli } from "../cli/cli-helpers.js";
import { project } from "./helpers.js";

const server = `
import type * as Party from "partykit/server";

export default class Main implements Party.Server {
  constructor(readonly room: Party.Room) {}

  static async onFetch(req: Party.Request) {
    const url = new URL(req.url);
    if (req.headers.get("upgrade") === "websocket" && url.pathname === "/echo") {
      const { 0: client, 1: server } = new WebSocketPair();
      server.accept();
      server.addEventListener("message", (e: MessageEvent) => {
        if (e.data === "bye") server.close(4000, "asked to leave");
        else if (typeof e.data === "string") server.send("echo:" + e.data);
        else server.send(new Uint8Array([...new Uint8Array(e.data as ArrayBuffer)].reverse()));
      });
      client.addEventListener("close", () => { closedSeen++; });
      server.addEventListener("close", (e: CloseEvent) => { lastClose = e.code; });
      server.send("hello");
      return new Response(null, { status: 101, webSocket: client } as ResponseInit);
    }
    if (url.pathname === "/echo") {
      // A plain request answered with an upgrade response.
      const { 0: client } = new WebSocketPair();
      return new Response(null, { status: 101, webSocket: client } as ResponseInit);
    }
    if (url.pathname === "/pair") {
      // An in-memory pair on its own: what one end sends, the other receives (after accept()).
      const pair = new WebSocketPair();
      const [a, b] = Object.values(pair) as WebSocket[];
      const got = new Promise<string>((resolve) =>
        b.addEventListener("message", (e: MessageEvent) => resolve(String(e.data))),
      );
      a.send("queued before accept");
      (b as unknown as { accept(): void }).accept();
      const text = await got;
      const r101 = new Response(null, { status: 101, webSocket: a } as ResponseInit);
      return Response.json({
        text,
        status: r101.status,
        hasSocket: (r101 as unknown as { webSocket: unknown }).webSocket === a,
        plainIsResponse: new Response("x") instanceof Response,
        jsonIsResponse: Response.json({}) instanceof Response,
        fetchedIsResponse: (await fetch(url.origin + "/not-here")) instanceof Response,
        subclass: [new Mine("x") instanceof Mine, new Response("x") instanceof Mine, new Mine("y") instanceof Response],
        closedSeen,
        lastClose,
      });
    }
    return new Response("not here", { status: 404 });
  }
}
class Mine extends Response {}
let closedSeen = 0;
let lastClose = 0;
`;

describe("workerd globals", () => {
  it("WebSocketPair works in memory and a 101 Response with webSocket upgrades the client", async () => {
    const root = project({
      "partykit.json": JSON.stringify({ name: "pair", main: "src/server.ts" }),
      "src/server.ts": server,
    });
    const dev = await startCli(["dev", "-p", "0"], root);

    const pair = (await (await fetch(dev.url + "/pair")).json()) as Record<string, unknown>;
    assert.equal(pair["text"], "queued before accept");
    assert.equal(pair["status"], 101);
    assert.equal(pair["hasSocket"], true);
    assert.equal(pair["plainIsResponse"], true);
    assert.equal(pair["jsonIsResponse"], true);
    assert.equal(pair["fetchedIsResponse"], true);
    assert.deepEqual(pair["subclass"], [true, false, true]);

    const plain = await fetch(dev.url + "/echo");
    assert.equal(plain.status, 500);
    assert.match(await plain.text(), /did not request a WebSocket/);
    await dev.waitForOutput(/PH_ERR_NOT_AN_UPGRADE/, 10000);

    const ws = new WebSocket(dev.url.replace("http", "ws") + "/echo");
    const messages: Array<string | Buffer> = [];
    const waiters: Array<() => void> = [];
    ws.on("message", (data, isBinary) => {
      messages.push(isBinary ? (data as Buffer) : data.toString());
      for (const w of waiters.splice(0)) w();
    });
    const nextMessage = async () => {
      while (messages.length === 0) await new Promise<void>((r) => waiters.push(r));
      return messages.shift()!;
    };
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    assert.equal(await nextMessage(), "hello");
    ws.send("ping");
    assert.equal(await nextMessage(), "echo:ping");
    ws.send(Buffer.from([1, 2, 3]));
    assert.deepEqual([...((await nextMessage()) as Buffer)], [3, 2, 1]);

    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.send("bye");
    assert.deepEqual(await closed, { code: 4000, reason: "asked to leave" });

    // The party saw both ends close (party.io listens on the client end it handed over).
    const after = (await (await fetch(dev.url + "/pair")).json()) as Record<string, unknown>;
    assert.equal(after["closedSeen"], 1);
    assert.equal(after["lastClose"], 4000);

    // A client that closes first: the server end gets its close code.
    const ws2 = new WebSocket(dev.url.replace("http", "ws") + "/echo");
    await new Promise((resolve) => ws2.once("message", resolve));
    ws2.close(4001, "client leaves");
    let last = 0;
    for (let i = 0; i < 100 && last !== 4001; i++) {
      last = ((await (await fetch(dev.url + "/pair")).json()) as { lastClose: number }).lastClose;
      if (last !== 4001) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(last, 4001);
    dev.child.kill("SIGTERM");
    await dev.exited;
  });
});
