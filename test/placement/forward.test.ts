// Forwarding between two real nodes: a placement on node A says rooms "r*" belong to node B, so
// every road into such a room (HTTP, ws, partysocket, Socket.IO polling / websocket / upgrade,
// party stubs) must reach B's one instance through A, with onBefore* run on A only, and no
// request ever taking a second hop or passing off as a node without the cluster secret.
import assert from "node:assert/strict";
import { createServer as createNetServer } from "node:net";
import { createHash } from "node:crypto";
import { createServer as createHttpServer, request as httpRequest } from "node:http";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { signNodeHeaders } from "../../src/adapters/node/node-auth.js";
import { LocalPlacement } from "../../src/core/placement.js";
import type { Placement, RoomLocation } from "../../src/core/placement.js";
import type { RoomRef } from "../../src/core/api/storage-api.js";
import type * as Party from "../../src/core/api/types.js";
import type { Partyhouse } from "../../src/runtime/start.js";
import { createServer } from "../../src/socketio/index.js";
import {
  Client,
  closeAll,
  partySocket,
  recordingLogger,
  serve,
  waitFor,
  wsUrl,
} from "../helpers.js";
import {
  client,
  connected,
  disconnectClients,
  next,
  onTransport,
} from "../socketio/sio-helpers.js";

const SECRET = "test-cluster-secret";

/** Rooms whose id starts with one of `prefixes` are owned by `owner`; this node owns the rest. */
class ElsewherePlacement implements Placement {
  owner = "";
  readonly located: string[] = [];
  readonly wrong: string[] = [];
  readonly #local = new LocalPlacement();
  constructor(private readonly prefixes: string[]) {}
  locate(ref: RoomRef): RoomLocation {
    this.located.push(`${ref.party}/${ref.room}`);
    if (this.prefixes.some((p) => ref.room.startsWith(p)))
      return { kind: "remote", url: this.owner };
    return this.#local.locate();
  }
  release(): void {}
  misplaced(ref: RoomRef, url: string): void {
    this.wrong.push(`${ref.party}/${ref.room} ${url}`);
  }
}

/** What the hooks and rooms saw, tagged with the node they ran on (env.NODE). */
const seen: string[] = [];
let release: () => void = () => {};

class Room implements Party.Server {
  static onBeforeConnect(req: Party.Request, lobby: Party.Lobby) {
    seen.push(`onBeforeConnect ${String(lobby.env.NODE)} ${lobby.id}`);
    req.headers.set("x-before", String(lobby.env.NODE));
    return req;
  }
  static onBeforeRequest(req: Party.Request, lobby: Party.Lobby) {
    seen.push(`onBeforeRequest ${String(lobby.env.NODE)} ${lobby.id}`);
    if (req.headers.get("authorization") === "no") return new Response("nope", { status: 401 });
    req.headers.set("x-before", String(lobby.env.NODE));
    return req;
  }
  constructor(readonly room: Party.Room) {}
  onStart() {
    if (this.room.id === "r-fail") throw new Error(`start failed on ${this.node}`);
  }
  get node(): string {
    return String(this.room.env.NODE);
  }
  onConnect(conn: Party.Connection, ctx: Party.ConnectionContext) {
    conn.send(
      `hello ${this.room.id} on ${this.node} before ${ctx.request.headers.get("x-before")}`,
    );
  }
  onMessage(message: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
    if (typeof message === "string" && message.startsWith("close:")) {
      const [, code, reason] = message.split(":");
      sender.close(Number(code), reason);
      return;
    }
    sender.send(message as string | ArrayBuffer);
  }
  async onRequest(req: Party.Request): Promise<Response> {
    const url = new URL(req.url);
    const stub = url.searchParams.get("stub");
    if (stub !== null) return this.viaStub(stub);
    if (url.pathname.endsWith("/echo")) {
      // The body streams back as it arrives: the first chunk is answered before the rest is sent.
      return new Response(req.body, {
        status: 201,
        headers: {
          "x-node": this.node,
          "x-before": req.headers.get("x-before") ?? "none",
          "x-url": req.url,
          "x-custom": req.headers.get("x-custom") ?? "none",
        },
      });
    }
    if (url.pathname.endsWith("/slow")) {
      const enc = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(enc.encode("first;"));
          await new Promise<void>((r) => (release = r));
          controller.enqueue(enc.encode("rest"));
          controller.close();
        },
      });
      return new Response(body, { headers: { "set-cookie": "a=1" } });
    }
    return new Response(`room ${this.room.id} on ${this.node}`, {
      headers: [
        ["set-cookie", "a=1"],
        ["set-cookie", "b=2"],
      ],
    });
  }
  private async viaStub(to: string): Promise<Response> {
    const stub = this.room.context.parties.main!.get(to);
    const res = await stub.fetch("/hi", {
      method: "POST",
      body: "ping",
      headers: { "x-custom": "c" },
    });
    const text = await res.text();
    const socket = await stub.socket("/?via=stub");
    const messages: string[] = [];
    const closed = new Promise<string>((resolve) => {
      socket.addEventListener("close", (e) => resolve(`${e.code} ${e.reason}`));
    });
    const got = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (messages.length >= n ? resolve() : setTimeout(check, 5));
        check();
      });
    socket.addEventListener("message", (e) => messages.push(String(e.data)));
    await got(1);
    socket.send("echo me");
    await got(2);
    socket.send("close:4005:done");
    return new Response(
      JSON.stringify({ status: res.status, text, messages, close: await closed }),
    );
  }
}

/** Socket.IO room: says where it runs, acks echoes. */
const Sio = createServer((io, room) => {
  io.on("connection", (socket) => {
    socket.emit("hello", {
      room: room.id,
      node: String(room.env.NODE),
      transport: socket.conn.transport.name,
    });
    socket.on("echo", (value: unknown, ack: (v: unknown, node: string) => void) =>
      ack(value, String(room.env.NODE)),
    );
  });
});

/** A plain HTTP server that only counts what reaches it: a second hop would land here. */
function counter(): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  const server = createHttpServer((_req, res) => {
    hits++;
    res.end("second hop");
  });
  server.on("upgrade", (_req, socket) => {
    hits++;
    socket.destroy();
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        server,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        hits: () => hits,
      }),
    ),
  );
}

/** The HTTP answer to a WebSocket handshake that was refused. */
function refusal(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const c = new Client(url);
    c.ws.on("unexpected-response", (_req, res) => resolve(res));
    c.ws.on("open", () => reject(new Error("opened")));
  });
}

describe("forwarding to the owner", () => {
  let a: Partyhouse;
  let b: Partyhouse;
  let third: Awaited<ReturnType<typeof counter>>;
  const logA = recordingLogger();
  const logB = recordingLogger();
  const onA = new ElsewherePlacement(["r", "loop"]);
  const onB = new ElsewherePlacement(["loop"]);

  before(async () => {
    third = await counter();
    onB.owner = third.url;
    b = await serve({
      parties: { main: Room, sio: Sio },
      env: { NODE: "B" },
      placement: onB,
      clusterSecret: SECRET,
      log: logB,
    });
    onA.owner = b.url;
    a = await serve({
      parties: { main: Room, sio: Sio },
      env: { NODE: "A" },
      placement: onA,
      clusterSecret: SECRET,
      log: logA,
    });
  });
  afterEach(disconnectClients);
  after(async () => {
    await closeAll();
    await new Promise((r) => third.server.close(r));
  });

  it("carries an HTTP request to the owner and its answer back", async () => {
    seen.length = 0;
    const res = await fetch(`${a.url}/parties/main/r1?q=1`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "room r1 on B");
    assert.deepEqual(res.headers.getSetCookie(), ["a=1", "b=2"]);
    assert.deepEqual(seen, ["onBeforeRequest A r1"]);
    assert.equal(a.inspect.counts().rooms, 0, "no instance on A");
    assert.equal(b.inspect.counts().rooms, 1);
    const refused = await fetch(`${a.url}/parties/main/r1`, { headers: { authorization: "no" } });
    assert.equal(refused.status, 401, "A's onBeforeRequest answers");
    assert.deepEqual(seen, ["onBeforeRequest A r1", "onBeforeRequest A r1"]);
  });

  it("streams a large body both ways, with status and headers", async () => {
    const size = 8 * 1024 * 1024;
    const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251);
    let sent = 0;
    const hashOut = createHash("sha256");
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) return controller.close();
        sent += chunk.length;
        hashOut.update(chunk);
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${a.url}/parties/main/r2/echo?x=y`, {
      method: "POST",
      body,
      headers: { "x-custom": "kept" },
      duplex: "half",
    } as RequestInit);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("x-node"), "B");
    assert.equal(res.headers.get("x-before"), "A", "the request as A's hook rewrote it");
    assert.equal(res.headers.get("x-custom"), "kept");
    assert.equal(res.headers.get("x-url"), `${a.url}/parties/main/r2/echo?x=y`, "the URL A saw");
    const hashIn = createHash("sha256");
    let got = 0;
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
      hashIn.update(part);
      got += part.length;
    }
    assert.equal(got, size);
    assert.equal(hashIn.digest("hex"), hashOut.digest("hex"));
  });

  it("does not buffer: the owner's first bytes arrive before it finishes, in both directions", async () => {
    // Response direction: the room holds its body open until released.
    const res = await fetch(`${a.url}/parties/main/r3/slow`);
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), "first;");
    release();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.equal(rest, "rest");
    // Request direction: the echo of the first chunk arrives while the request is still open.
    const echoed = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${a.url}/parties/main/r3/echo`, { method: "POST" }, (r) => {
        r.once("data", (d: Buffer) => {
          const text = d.toString();
          req.end();
          r.resume();
          resolve(text);
        });
      });
      req.on("error", reject);
      req.write("chunk-one");
    });
    assert.equal(echoed, "chunk-one");
  });

  it("joins a ws WebSocket through A to B's room: text, binary, close codes both ways", async () => {
    seen.length = 0;
    const c = await new Client(wsUrl(a, "/parties/main/r4?_pk=c1")).open();
    assert.equal(await c.next(), "hello r4 on B before A");
    assert.deepEqual(seen, ["onBeforeConnect A r4"]);
    c.send("text");
    assert.equal(await c.next(), "text");
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    c.send(bytes);
    const back = await c.next();
    assert.ok(Buffer.isBuffer(back));
    assert.deepEqual(back, bytes);
    // A big frame crosses the pipe whole.
    const big = Buffer.alloc(512 * 1024, 7);
    c.send(big);
    assert.equal(((await c.next()) as Buffer).length, big.length);
    const direct = await new Client(wsUrl(b, "/parties/main/r4?_pk=c2")).open();
    assert.equal(await direct.next(), "hello r4 on B before B");
    assert.equal(b.inspect.room("main", "r4")?.connections.length, 2, "one instance, both clients");
    // The room closes with a code and reason: they reach the client through A.
    c.send("close:4001:room says bye");
    assert.deepEqual(await c.closed, { code: 4001, reason: "room says bye" });
    // The client closes with a code and reason: they reach the room through A.
    const c3 = await new Client(wsUrl(a, "/parties/main/r4?_pk=c3")).open();
    await c3.next();
    c3.ws.close(4002, "client says bye");
    assert.deepEqual(await c3.closed, { code: 4002, reason: "client says bye" });
    await waitFor(() => b.inspect.room("main", "r4")?.connections.length === 1, 10_000, "c3 gone");
    direct.close();
  });

  it("passes the owner's refusal of an upgrade (before its 101) back as its HTTP answer", async () => {
    const res = await refusal(wsUrl(a, "/parties/main/r-fail"));
    assert.equal(res.statusCode, 500);
    const body = await new Promise<string>((resolve) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve(text));
    });
    assert.equal(body, "start failed on B");
    const http = await fetch(`${a.url}/parties/main/r-fail`);
    assert.deepEqual([http.status, await http.text()], [500, "start failed on B"]);
  });

  it("works with partysocket through A", async () => {
    const ps = partySocket(a, { room: "r5", id: "p1" });
    try {
      const hello = await new Promise<string>((resolve) =>
        ps.addEventListener("message", (e) => resolve(String(e.data)), { once: true }),
      );
      assert.equal(hello, "hello r5 on B before A");
      const echo = new Promise<string>((resolve) =>
        ps.addEventListener("message", (e) => resolve(String(e.data)), { once: true }),
      );
      ps.send("via partysocket");
      assert.equal(await echo, "via partysocket");
    } finally {
      ps.close();
    }
  });

  for (const mode of ["polling", "websocket", "polling then upgrade"] as const) {
    it(`carries Socket.IO through A (${mode})`, async () => {
      const transports =
        mode === "polling" ? ["polling"] : mode === "websocket" ? ["websocket"] : undefined;
      const socket = client(a, {
        path: "/parties/sio/r6/socket.io",
        ...(transports ? { transports } : {}),
        ...(mode === "polling" ? { upgrade: false } : {}),
      });
      const upgraded =
        mode === "polling then upgrade" ? onTransport(socket, "websocket", 10_000) : undefined;
      const [hello] = await next<[{ room: string; node: string; transport: string }]>(
        socket,
        "hello",
      );
      await connected(socket);
      assert.equal(hello.room, "r6");
      assert.equal(hello.node, "B");
      assert.equal(hello.transport, mode === "websocket" ? "websocket" : "polling");
      if (upgraded) await upgraded;
      const [value, node] = await new Promise<unknown[]>((resolve) =>
        socket.emit("echo", { n: [1, "two"] }, (...args: unknown[]) => resolve(args)),
      );
      assert.deepEqual(value, { n: [1, "two"] });
      assert.equal(node, "B");
      assert.equal(socket.io.engine.transport.name, mode === "polling" ? "polling" : "websocket");
      assert.equal(a.inspect.room("sio", "r6"), undefined, "no Socket.IO room on A");
      socket.disconnect();
    });
  }

  it("forwards a party stub's fetch and socket from a room on A to a room owned by B", async () => {
    seen.length = 0;
    const res = await fetch(`${a.url}/parties/main/home?stub=r7`);
    const out = (await res.json()) as {
      status: number;
      text: string;
      messages: string[];
      close: string;
    };
    assert.equal(out.status, 200);
    assert.equal(out.text, "room r7 on B");
    assert.deepEqual(
      out.messages,
      ["hello r7 on B before null", "echo me"],
      "stubs skip onBefore*",
    );
    assert.equal(out.close, "4005 done");
    assert.deepEqual(seen, ["onBeforeRequest A home"], "only the client's request ran a hook");
    assert.ok(a.inspect.room("main", "home"));
    assert.equal(a.inspect.room("main", "r7"), undefined);
    assert.ok(b.inspect.room("main", "r7"));
  });

  it("gives up on an owner that never answers an upgrade (paused): 503, no hang", async () => {
    // A TCP server that accepts and says nothing: what a SIGSTOPped owner looks like.
    const held = new Set<Socket>();
    const silent = createNetServer((socket) => {
      held.add(socket);
      socket.on("error", () => {});
      socket.resume(); // read and ignore, so the end of the connection is seen
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const placement = new ElsewherePlacement(["r"]);
      placement.owner = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const relay = await serve({
        parties: { main: Room, sio: Sio },
        env: { NODE: "D" },
        placement,
        clusterSecret: SECRET,
        ownerAnswerMs: 300,
      });
      const started = Date.now();
      const res = await refusal(wsUrl(relay, "/parties/main/r11"));
      assert.equal(res.statusCode, 503);
      assert.ok(Date.now() - started < 10_000, "refused long before the host's own limit");
      assert.ok(placement.wrong.length >= 1, "the placement was told the owner was wrong");
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it("cuts the pipes of a forwarding node that shuts down; the owner sees the socket go", async () => {
    const placement = new ElsewherePlacement(["r"]);
    placement.owner = b.url;
    const relay = await serve({
      parties: { main: Room, sio: Sio },
      env: { NODE: "C" },
      placement,
      clusterSecret: SECRET,
    });
    const c = await new Client(wsUrl(relay, "/parties/main/r10?_pk=cut")).open();
    assert.equal(await c.next(), "hello r10 on B before C");
    assert.deepEqual(b.inspect.room("main", "r10")?.connections, ["cut"]);
    await relay.close();
    assert.equal((await c.closed).code, 1006);
    await waitFor(
      () => (b.inspect.room("main", "r10")?.connections.length ?? 0) === 0,
      10_000,
      "gone on B",
    );
  });

  it("refuses node headers without a valid, fresh signature (403 PH_ERR_NODE_AUTH)", async () => {
    seen.length = 0;
    const path = "/parties/main/r8";
    const forged = {
      "x-partyhouse-node-ts": String(Date.now()),
      "x-partyhouse-node-origin": b.url,
      "x-partyhouse-node-sig": "00".repeat(32),
    };
    for (const target of [a, b]) {
      const res = await fetch(target.url + path, { headers: forged });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get("x-partyhouse-error"), "PH_ERR_NODE_AUTH");
    }
    // Right secret, stale timestamp; wrong secret; a lone marker header.
    const stale = signNodeHeaders(SECRET, "GET", path, b.url, Date.now() - 60_000);
    const wrong = signNodeHeaders("not-the-secret", "GET", path, b.url);
    const other = signNodeHeaders(SECRET, "GET", "/parties/main/other", b.url);
    for (const headers of [stale, wrong, other, { "x-partyhouse-node-sig": "x" }]) {
      assert.equal((await fetch(b.url + path, { headers })).status, 403);
    }
    assert.ok(logB.errors.some((e) => e.code === "PH_ERR_NODE_AUTH"));
    assert.deepEqual(seen, [], "no hook and no room ran for a forged request");
    // A signed request (what A sends) is taken, and skips B's hooks.
    const good = await fetch(b.url + path, {
      headers: signNodeHeaders(SECRET, "GET", path, a.url),
    });
    assert.equal(await good.text(), "room r8 on B");
    assert.deepEqual(seen, []);
  });

  it("refuses a forged WebSocket upgrade with 403", async () => {
    const path = "/parties/main/r9";
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${b.url}${path}`, {
        headers: {
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          "x-partyhouse-node-sig": "forged",
        },
      });
      req.on("response", resolve);
      req.on("upgrade", () => reject(new Error("upgraded")));
      req.on("error", reject);
      req.end();
    });
    assert.equal(res.statusCode, 403);
    res.resume();
  });

  it("answers 503 PH_ERR_NOT_OWNER at a non-owner reached by a forwarded request, never a second hop", async () => {
    onB.located.length = 0;
    const res = await fetch(`${a.url}/parties/main/loop1`);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("x-partyhouse-error"), "PH_ERR_NOT_OWNER");
    // A re-resolved and retried once: B was asked twice, the third node never.
    assert.deepEqual(onB.located, ["main/loop1", "main/loop1"]);
    assert.deepEqual(onA.wrong, [`main/loop1 ${b.url}`, `main/loop1 ${b.url}`], "told each time");
    assert.deepEqual(onB.wrong, [], "B never forwarded");
    const ws = await refusal(wsUrl(a, "/parties/main/loop2"));
    assert.equal(ws.statusCode, 503);
    ws.resume();
    const sio = await fetch(`${a.url}/parties/sio/loop3/socket.io/?EIO=4&transport=polling`);
    assert.equal(sio.status, 503);
    assert.equal(third.hits(), 0, "no request took a second hop");
    assert.ok(logB.errors.some((e) => e.code === "PH_ERR_NOT_OWNER"));
  });
});

describe("a forwarding node on the owner's connection limits", () => {
  after(closeAll);

  it("is not held to maxConnectionsPerIp (it carries many clients), direct clients still are", async () => {
    const owner = await serve({
      parties: { main: Room, sio: Sio },
      env: { NODE: "B" },
      clusterSecret: SECRET,
      limits: { maxConnectionsPerIp: 2 },
    });
    const placement = new ElsewherePlacement(["r"]);
    placement.owner = owner.url;
    const relay = await serve({
      parties: { main: Room, sio: Sio },
      env: { NODE: "A" },
      placement,
      clusterSecret: SECRET,
    });
    const clients: Client[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const c = await new Client(wsUrl(relay, `/parties/main/r11?_pk=n${i}`)).open();
        clients.push(c);
        assert.equal(await c.next(), "hello r11 on B before A");
      }
      assert.equal(owner.inspect.room("main", "r11")?.connections.length, 4);
      const direct = new Client(wsUrl(owner, "/parties/main/r11"));
      clients.push(direct);
      assert.equal((await direct.closed).code, 1013, "a client past its address's cap is refused");
    } finally {
      for (const c of clients) c.ws.terminate();
    }
  });
});
