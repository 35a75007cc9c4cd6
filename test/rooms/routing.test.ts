import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type * as Party from "../../src/server.js";
import { closeAll, connect, recordingLogger, serve, Client, wsUrl } from "../helpers.js";

after(closeAll);

class Echo implements Party.Server {
  constructor(readonly room: Party.Room) {}
  onConnect(conn: Party.Connection, ctx: Party.ConnectionContext) {
    conn.send(
      JSON.stringify({
        room: this.room.id,
        party: this.room.name,
        id: conn.id,
        uri: conn.uri,
        header: ctx.request.headers.get("x-test"),
      }),
    );
  }
  onMessage(message: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
    sender.send(message as string);
  }
  onRequest(req: Party.Request) {
    return new Response(
      `${this.room.name}/${this.room.id} ${req.method} ${new URL(req.url).pathname}`,
    );
  }
}

class NoRequest implements Party.Server {
  onConnect(conn: Party.Connection) {
    conn.send("hi");
  }
}

class Throws implements Party.Server {
  constructor(readonly room: Party.Room) {}
  onConnect() {
    throw new Error("nope: " + this.room.id);
  }
  onRequest(): Response {
    const e = new Error("teapot time") as Error & { code: number };
    e.code = 418;
    if (this.room.id === "coded") throw e;
    throw new Error("request exploded");
  }
}

describe("routing and wire", () => {
  it("routes /parties/:party/:room and legacy /party/:room to the right room", async () => {
    const ph = await serve({ parties: { main: Echo, other: Echo } });
    const a = await connect(ph, "/parties/main/r1?_pk=abc");
    const hello = await a.nextJson<{ room: string; party: string; id: string; uri: string }>();
    assert.equal(hello.room, "r1");
    assert.equal(hello.party, "main");
    assert.equal(hello.id, "abc");
    assert.ok(hello.uri.endsWith("/parties/main/r1?_pk=abc"));
    const b = await connect(ph, "/party/r2");
    const h2 = await b.nextJson<{ room: string; party: string; id: string }>();
    assert.equal(h2.party, "main");
    assert.equal(h2.room, "r2");
    assert.match(h2.id, /^[0-9a-f-]{36}$/);
    const c = await connect(ph, "/parties/other/r3/sub/path");
    assert.equal((await c.nextJson<{ party: string }>()).party, "other");
    const res = await fetch(`${ph.url}/parties/other/x/a/b?q=1`);
    assert.equal(await res.text(), "other/x GET /parties/other/x/a/b");
    a.close();
    b.close();
    c.close();
  });

  it("takes the room id as the raw path segment, as PartyKit does", async () => {
    const ph = await serve({ parties: { main: Echo } });
    const res = await fetch(`${ph.url}/parties/main/hello%20world`);
    assert.equal(await res.text(), "main/hello%20world GET /parties/main/hello%20world");
  });

  it("answers 404 for an unknown party and falls through for an empty room id", async () => {
    const ph = await serve({ parties: { main: Echo } });
    const res = await fetch(`${ph.url}/parties/nope/r`);
    assert.equal(res.status, 404);
    assert.equal(await res.text(), "Party nope not found");
    const ws = new Client(wsUrl(ph, "/parties/nope/r"));
    const err = await new Promise<Error>((resolve) =>
      ws.ws.on("unexpected-response", (_req, r) => resolve(new Error(String(r.statusCode)))),
    );
    assert.equal(err.message, "404");
    const empty = await fetch(`${ph.url}/parties/main/`);
    assert.equal(empty.status, 404);
    assert.equal(await empty.text(), "Not found");
  });

  it("answers an empty party name (/parties//room) with PartyKit's 500", async () => {
    const ph = await serve({ parties: { main: Echo } });
    const res = await fetch(`${ph.url}/parties//r`);
    assert.equal(res.status, 500);
    assert.equal(await res.text(), "No party found in request url");
    const ws = new Client(wsUrl(ph, "/parties//r"));
    const status = await new Promise<number>((resolve) =>
      ws.ws.on("unexpected-response", (_req, r) => resolve(r.statusCode ?? 0)),
    );
    assert.equal(status, 500);
  });

  it("answers 500 'No onRequest handler' for a party without onRequest", async () => {
    const ph = await serve({ parties: { main: NoRequest } });
    const res = await fetch(`${ph.url}/parties/main/r`);
    assert.equal(res.status, 500);
    assert.equal(await res.text(), "No onRequest handler");
  });

  it("answers a failing onRequest with 500 (or the error's code) and the message, never a stack", async () => {
    const log = recordingLogger();
    const ph = await serve({ parties: { main: Throws, echo: Echo }, log });
    const res = await fetch(`${ph.url}/parties/main/r`);
    assert.equal(res.status, 500);
    const body = await res.text();
    assert.equal(body, "request exploded");
    assert.doesNotMatch(body, /at .*\.ts/);
    const coded = await fetch(`${ph.url}/parties/main/coded`);
    assert.equal(coded.status, 418);
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_ON_REQUEST"));
    // Every other room keeps serving.
    const ok = await fetch(`${ph.url}/parties/echo/r`);
    assert.equal(ok.status, 200);
  });

  it("accepts then closes with 1011 and the message when connecting fails", async () => {
    const log = recordingLogger();
    const ph = await serve({ parties: { main: Throws }, log });
    const c = await connect(ph, "/parties/main/room-a");
    const closed = await c.closed;
    assert.equal(closed.code, 1011);
    assert.equal(closed.reason, "nope: room-a");
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_ON_CONNECT"));
  });

  it("accepts sockets of a party with neither onConnect nor onMessage, as PartyKit does", async () => {
    class Feed implements Party.Server {
      constructor(readonly room: Party.Room) {}
      async onRequest(req: Party.Request) {
        this.room.broadcast(await req.text());
        return new Response(`sent to ${[...this.room.getConnections()].length}`);
      }
    }
    const ph = await serve({ parties: { main: Feed } });
    const c = await connect(ph, "/parties/main/r");
    c.send("ignored: there is no onMessage");
    const res = await fetch(`${ph.url}/parties/main/r`, { method: "POST", body: "news" });
    assert.equal(await res.text(), "sent to 1");
    assert.equal(await c.nextText(), "news");
    c.close();
  });

  it("takes room ids of thousands of characters by default, as PartyKit does", async () => {
    const ph = await serve({ parties: { main: Echo } });
    const id = "r".repeat(3000);
    const res = await fetch(`${ph.url}/parties/main/${id}`);
    assert.equal(await res.text(), `main/${id} GET /parties/main/${id}`);
  });

  it("refuses an over-long room id with 400 and a coded log line", async () => {
    const log = recordingLogger();
    const ph = await serve({ parties: { main: Echo }, log, limits: { maxRoomIdLength: 16 } });
    const res = await fetch(`${ph.url}/parties/main/${"x".repeat(17)}`);
    assert.equal(res.status, 400);
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_ROOM_ID"));
  });

  it("closes a client that sends a message over the size limit with 1009, and the room goes on", async () => {
    const log = recordingLogger();
    const ph = await serve({ parties: { main: Echo }, log, limits: { maxMessageBytes: 1024 } });
    const big = await connect(ph, "/parties/main/r");
    const small = await connect(ph, "/parties/main/r");
    await big.next();
    await small.next();
    big.send("x".repeat(2000));
    assert.equal((await big.closed).code, 1009);
    small.send("still here");
    assert.equal(await small.nextText(), "still here");
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_MESSAGE_TOO_LARGE"));
    small.close();
  });
});

describe("onBeforeConnect / onBeforeRequest", () => {
  class Guarded implements Party.Server {
    static async onBeforeConnect(req: Party.Request, lobby: Party.Lobby) {
      const token = new URL(req.url).searchParams.get("token");
      if (token === "throw") throw new Error("bad token");
      if (token !== "ok") return new Response("Forbidden " + lobby.id, { status: 403 });
      req.headers.set("x-test", "from-before");
      return req;
    }
    static onBeforeRequest(req: Party.Request) {
      if (req.headers.get("authorization") === "throw") throw new Error("denied");
      if (req.headers.get("authorization") !== "yes") return new Response("nope", { status: 403 });
      return new Request(req.url + "&rewritten=1", req);
    }
    onConnect(conn: Party.Connection, ctx: Party.ConnectionContext) {
      conn.send(ctx.request.headers.get("x-test") ?? "none");
    }
    onRequest(req: Party.Request) {
      return new Response(new URL(req.url).search);
    }
  }

  it("lets onBeforeConnect refuse, fail (401) or rewrite the request", async () => {
    const ph = await serve({ parties: { main: Guarded } });
    const status = (path: string) =>
      new Promise<number>((resolve) => {
        const c = new Client(wsUrl(ph, path));
        c.ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      });
    assert.equal(await status("/parties/main/r?token=no"), 403);
    assert.equal(await status("/parties/main/r?token=throw"), 401);
    const c = await connect(ph, "/parties/main/r?token=ok");
    assert.equal(await c.nextText(), "from-before");
    c.close();
  });

  it("lets onBeforeRequest refuse, fail (401) or rewrite the request", async () => {
    const ph = await serve({ parties: { main: Guarded } });
    assert.equal((await fetch(`${ph.url}/parties/main/r?a=1`)).status, 403);
    const failed = await fetch(`${ph.url}/parties/main/r?a=1`, {
      headers: { authorization: "throw" },
    });
    assert.equal(failed.status, 401);
    assert.equal(await failed.text(), "denied");
    const ok = await fetch(`${ph.url}/parties/main/r?a=1`, { headers: { authorization: "yes" } });
    assert.equal(await ok.text(), "?a=1&rewritten=1");
  });

  it("follows PartyKit on odd hook results: empty errors, and neither Request nor Response", async () => {
    class Odd implements Party.Server {
      static onBeforeConnect(req: Party.Request) {
        const mode = new URL(req.url).searchParams.get("mode");
        if (mode === "empty") throw new Error("");
        if (mode === "string") throw "";
        return undefined as unknown as Request;
      }
      static onBeforeRequest(req: Party.Request) {
        if (new URL(req.url).searchParams.get("mode") === "empty") throw new Error("");
        return undefined as unknown as Request;
      }
      onConnect(conn: Party.Connection) {
        conn.send("connected");
      }
      onRequest() {
        return new Response("never");
      }
    }
    const ph = await serve({ parties: { main: Odd } });
    // An Error without a message gives an empty 401; a non-Error that prints as "" gives "Unauthorised".
    const empty = await fetch(`${ph.url}/parties/main/r?mode=empty`);
    assert.deepEqual([empty.status, await empty.text()], [401, ""]);
    const refused = (path: string) =>
      new Promise<[number, string]>((resolve) => {
        const c = new Client(wsUrl(ph, path));
        c.ws.on("unexpected-response", (_req, res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve([res.statusCode ?? 0, body]));
        });
      });
    assert.deepEqual(await refused("/parties/main/r?mode=empty"), [401, ""]);
    assert.deepEqual(await refused("/parties/main/r?mode=string"), [401, "Unauthorised"]);
    // onBeforeConnect returning nothing connects with the original request...
    const c = await connect(ph, "/parties/main/r");
    assert.equal(await c.nextText(), "connected");
    c.close();
    // ...while onBeforeRequest returning nothing fails in the room's fetch, as in PartyKit.
    const none = await fetch(`${ph.url}/parties/main/r`);
    assert.deepEqual([none.status, await none.text()], [500, "Invalid URL: undefined"]);
  });
});

describe("non-party paths", () => {
  it("uses onFetch, then 404 'Not found'; onSocket takes other WebSockets", async () => {
    class Main implements Party.Server {
      static onFetch(req: Party.Request, lobby: Party.FetchLobby) {
        const url = new URL(req.url);
        if (url.pathname === "/hello") return new Response(`hello ${String(lobby.env.WHO)}`);
        return null;
      }
      static onSocket(socket: Party.FetchSocket) {
        socket.addEventListener("message", (e) => socket.send(`echo:${String(e.data)}`));
        socket.send("welcome " + new URL(socket.request.url).pathname);
      }
      onConnect() {}
    }
    const ph = await serve({ parties: { main: Main }, env: { WHO: "world" } });
    assert.equal(await (await fetch(`${ph.url}/hello`)).text(), "hello world");
    const miss = await fetch(`${ph.url}/missing`);
    assert.equal(miss.status, 404);
    assert.equal(await miss.text(), "Not found");
    const s = await connect(ph, "/some/socket");
    assert.equal(await s.nextText(), "welcome /some/socket");
    s.send("x");
    assert.equal(await s.nextText(), "echo:x");
    s.close();
  });
});
