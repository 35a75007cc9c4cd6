import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type * as Party from "../../src/server.js";
import {
  Client,
  closeAll,
  connect,
  partySocket,
  recordingLogger,
  serve,
  sleep,
  waitFor,
  wsUrl,
} from "../helpers.js";

after(closeAll);

describe("lifecycle", () => {
  it("finishes onStart before any other handler, once per instance", async () => {
    let starts = 0;
    class Slow implements Party.Server {
      ready = false;
      async onStart() {
        starts++;
        await sleep(100);
        this.ready = true;
      }
      onConnect(conn: Party.Connection) {
        conn.send(this.ready ? "ready" : "NOT READY");
      }
      onRequest() {
        return new Response(this.ready ? "ready" : "NOT READY");
      }
    }
    const ph = await serve({ parties: { main: Slow } });
    const [a, b, res] = await Promise.all([
      connect(ph, "/parties/main/r"),
      connect(ph, "/parties/main/r"),
      fetch(`${ph.url}/parties/main/r`),
    ]);
    assert.equal(await a.nextText(), "ready");
    assert.equal(await b.nextText(), "ready");
    assert.equal(await res.text(), "ready");
    assert.equal(starts, 1);
    a.close();
    b.close();
  });

  it("refuses the triggering upgrade with 500 when onStart throws (as PartyKit), and retries it next time", async () => {
    let attempts = 0;
    class Flaky implements Party.Server {
      onStart() {
        attempts++;
        if (attempts === 1) throw new Error("storage not ready");
      }
      onConnect(conn: Party.Connection) {
        conn.send(`attempt ${attempts}`);
      }
    }
    const log = recordingLogger();
    const ph = await serve({ parties: { main: Flaky }, log });
    const first = new Client(wsUrl(ph, "/parties/main/r"));
    const refused = await new Promise<[number, string]>((resolve) =>
      first.ws.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve([res.statusCode ?? 0, body]));
      }),
    );
    assert.deepEqual(refused, [500, "storage not ready"]);
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_ON_START"));
    const second = await connect(ph, "/parties/main/r");
    assert.equal(await second.nextText(), "attempt 2");
    second.close();
  });

  it("delivers messages after onConnect finished, in order, text and binary", async () => {
    class Recorder implements Party.Server {
      async onConnect(conn: Party.Connection) {
        await sleep(50);
        conn.send("connected");
      }
      onMessage(message: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
        if (typeof message === "string") sender.send(`text:${message}`);
        else {
          assert.ok(message instanceof ArrayBuffer, "binary arrives as an ArrayBuffer");
          const bytes = new Uint8Array(message);
          sender.send(bytes.map((b) => b + 1));
        }
      }
    }
    const ph = await serve({ parties: { main: Recorder } });
    const c = await connect(ph, "/parties/main/r");
    for (let i = 0; i < 20; i++) c.send(`m${i}`);
    c.send(Buffer.from([1, 2, 3]));
    assert.equal(await c.nextText(), "connected");
    for (let i = 0; i < 20; i++) assert.equal(await c.nextText(), `text:m${i}`);
    const bin = await c.next();
    assert.ok(Buffer.isBuffer(bin));
    assert.deepEqual([...bin], [2, 3, 4]);
    c.close();
  });

  it("calls onClose with the connection gone from getConnections, and onError handlers stay optional", async () => {
    const events: string[] = [];
    class Watch implements Party.Server {
      constructor(readonly room: Party.Room) {}
      onConnect(conn: Party.Connection) {
        conn.addEventListener("close", () => events.push(`listener-close:${conn.id}`));
      }
      onClose(conn: Party.Connection) {
        const ids = [...this.room.getConnections()].map((c) => c.id);
        events.push(`close:${conn.id}:${ids.join(",")}`);
      }
    }
    const ph = await serve({ parties: { main: Watch } });
    const a = await connect(ph, "/parties/main/r?_pk=a");
    const b = await connect(ph, "/parties/main/r?_pk=b");
    await sleep(20);
    a.close();
    await waitFor(() => events.length >= 2, 5000, "close events");
    assert.deepEqual(events, ["close:a:b", "listener-close:a"]);
    b.close();
  });
});

describe("Party.Room and Party.Connection", () => {
  class Chat implements Party.Server {
    constructor(readonly room: Party.Room) {}
    getConnectionTags(conn: Party.Connection, ctx: Party.ConnectionContext) {
      return [new URL(ctx.request.url).searchParams.get("team") ?? "none"];
    }
    onConnect(conn: Party.Connection<{ n: number }>) {
      conn.setState({ n: 0 });
    }
    onMessage(
      message: string | ArrayBuffer | ArrayBufferView,
      sender: Party.Connection<{ n: number }>,
    ) {
      const msg = JSON.parse(message as string) as { op: string; arg?: string };
      const state = sender.setState((prev) => ({ n: (prev?.n ?? 0) + 1 }));
      switch (msg.op) {
        case "broadcast":
          this.room.broadcast(`${sender.id}:${msg.arg}`, [sender.id]);
          break;
        case "all":
          this.room.broadcast(`all:${msg.arg}`);
          break;
        case "team":
          for (const c of this.room.getConnections(msg.arg)) c.send(`team:${msg.arg}`);
          break;
        case "get":
          sender.send(`found:${this.room.getConnection(msg.arg!)?.id ?? "none"}`);
          break;
        case "state":
          sender.send(`state:${state?.n}`);
          break;
        case "info":
          sender.send(
            JSON.stringify({
              id: this.room.id,
              name: this.room.name,
              internal: this.room.internalID,
              env: this.room.env,
            }),
          );
          break;
      }
    }
  }

  it("broadcasts with `without`, filters by tag, finds connections and keeps per-connection state", async () => {
    const ph = await serve({ parties: { main: Chat }, env: { SECRET: "s3" } });
    const a = await connect(ph, "/parties/main/r?_pk=a&team=red");
    const b = await connect(ph, "/parties/main/r?_pk=b&team=blue");
    const c = await connect(ph, "/parties/main/r?_pk=c&team=red");
    await sleep(30);
    a.send(JSON.stringify({ op: "broadcast", arg: "hello" }));
    assert.equal(await b.nextText(), "a:hello");
    assert.equal(await c.nextText(), "a:hello");
    b.send(JSON.stringify({ op: "all", arg: "x" }));
    for (const cl of [a, b, c]) assert.equal(await cl.nextText(), "all:x");
    b.send(JSON.stringify({ op: "team", arg: "red" }));
    assert.equal(await a.nextText(), "team:red");
    assert.equal(await c.nextText(), "team:red");
    b.send(JSON.stringify({ op: "team", arg: "b" })); // the id is always a tag
    assert.equal(await b.nextText(), "team:b");
    a.send(JSON.stringify({ op: "get", arg: "c" }));
    assert.equal(await a.nextText(), "found:c");
    a.send(JSON.stringify({ op: "get", arg: "zzz" }));
    assert.equal(await a.nextText(), "found:none");
    a.send(JSON.stringify({ op: "state" }));
    assert.equal(await a.nextText(), "state:4");
    a.send(JSON.stringify({ op: "info" }));
    const info = JSON.parse(await a.nextText()) as {
      id: string;
      name: string;
      internal: string;
      env: Record<string, string>;
    };
    assert.equal(info.id, "r");
    assert.equal(info.name, "main");
    assert.match(info.internal, /^[0-9a-f]{64}$/);
    assert.equal(info.env.SECRET, "s3");
    for (const cl of [a, b, c]) cl.close();
  });

  it("broadcasts one frame to every member: text of every length class, binary, and a reused buffer", async () => {
    class Fanout implements Party.Server {
      constructor(readonly room: Party.Room) {}
      onMessage(message: string | ArrayBuffer | ArrayBufferView) {
        if (message !== "go") return;
        for (const n of [5, 300, 70_000]) this.room.broadcast("x".repeat(n - 1) + "!");
        const bytes = new Uint8Array([1, 2, 3, 250]);
        this.room.broadcast(bytes);
        // The frame is built at broadcast time: changing the buffer afterwards changes nothing sent.
        bytes[0] = 99;
      }
    }
    const ph = await serve({ parties: { main: Fanout } });
    const clients = await Promise.all([1, 2, 3].map(() => connect(ph, "/parties/main/fan")));
    await sleep(30);
    clients[0]!.send("go");
    for (const c of clients) {
      for (const n of [5, 300, 70_000]) {
        const m = await c.nextText();
        assert.equal(m.length, n);
        assert.ok(m.endsWith("!"));
      }
      const bin = await c.next();
      assert.ok(Buffer.isBuffer(bin));
      assert.deepEqual([...bin], [1, 2, 3, 250]);
      c.close();
    }
  });

  it("works with the official partysocket client, which reconnects after the server restarts", async () => {
    const ph = await serve({ parties: { main: Chat } });
    const ps = partySocket(ph, { room: "lobby", id: "ps1" });
    const got: string[] = [];
    ps.addEventListener("message", (e) => got.push(String(e.data)));
    await new Promise((resolve) => ps.addEventListener("open", resolve, { once: true }));
    ps.send(JSON.stringify({ op: "state" }));
    await waitFor(() => got.includes("state:1"));
    ph.reload({ main: Chat });
    // The reload closed the socket with 1012; partysocket comes back with the same id.
    await waitFor(
      () => ph.inspect.room("main", "lobby")?.connections.includes("ps1"),
      5000,
      "reconnect",
    );
    ps.send(JSON.stringify({ op: "state" }));
    await waitFor(
      () => got.filter((m) => m === "state:1").length === 2,
      5000,
      "fresh state after reload",
    );
    ps.close();
  });

  it("blockConcurrencyWhile holds every other event until it resolves", async () => {
    class Blocking implements Party.Server {
      value = "unset";
      constructor(readonly room: Party.Room) {
        void room.blockConcurrencyWhile(async () => {
          await sleep(80);
          this.value = "loaded";
        });
      }
      onConnect(conn: Party.Connection) {
        conn.send(this.value);
      }
    }
    const ph = await serve({ parties: { main: Blocking } });
    const c = await connect(ph, "/parties/main/r");
    assert.equal(await c.nextText(), "loaded");
    c.close();
  });

  it("runs the legacy module form with the room as the last argument", async () => {
    const legacy: Party.PartyKitServer = {
      onConnect(conn, room) {
        conn.send(`hello from ${room.id}`);
      },
      onRequest(req, room) {
        return new Response(`${req.method} ${room.id}`);
      },
    };
    const ph = await serve({ parties: { main: legacy } });
    const c = await connect(ph, "/parties/main/old");
    assert.equal(await c.nextText(), "hello from old");
    assert.equal(
      await (await fetch(`${ph.url}/parties/main/old`, { method: "POST" })).text(),
      "POST old",
    );
    c.close();
  });

  it("keeps serving other rooms when a handler throws", async () => {
    class Crashy implements Party.Server {
      onMessage(message: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
        if (message === "crash") throw new Error("boom");
        sender.send(`ok:${String(message)}`);
      }
    }
    const log = recordingLogger();
    const ph = await serve({ parties: { main: Crashy }, log });
    const a = await connect(ph, "/parties/main/a");
    const b = await connect(ph, "/parties/main/b");
    a.send("crash");
    a.send("after");
    b.send("other");
    assert.equal(await a.nextText(), "ok:after");
    assert.equal(await b.nextText(), "ok:other");
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_HANDLER"));
    a.close();
    b.close();
  });
});

describe("multiple parties and stubs", () => {
  class Counter implements Party.Server {
    count = 0;
    constructor(readonly room: Party.Room) {}
    async onRequest(req: Party.Request) {
      if (req.method === "POST") this.count += Number(await req.text());
      return new Response(`${this.room.name}/${this.room.id}=${this.count}`);
    }
    onMessage(message: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
      sender.send(`counter got ${String(message)}`);
    }
  }
  class Main implements Party.Server {
    constructor(readonly room: Party.Room) {}
    async onRequest() {
      const stub = this.room.context.parties.counter!.get("c1");
      await stub.fetch({ method: "POST", body: "5" });
      const res = await stub.fetch("/anything", { method: "POST", body: "2" });
      return new Response(await res.text());
    }
    async onMessage(message: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
      const ws = await this.room.context.parties.counter!.get("c2").socket();
      ws.addEventListener("message", (e) => {
        sender.send(`relayed: ${String(e.data)}`);
        ws.close();
      });
      ws.send(String(message));
    }
  }
  class Ids implements Party.Server {
    constructor(readonly room: Party.Room) {}
    onConnect(conn: Party.Connection) {
      conn.send(conn.id);
    }
  }

  it("reaches another party's room over stub.fetch and stub.socket", async () => {
    const ph = await serve({ parties: { main: Main, counter: Counter } });
    assert.equal(await (await fetch(`${ph.url}/parties/main/x`)).text(), "counter/c1=7");
    const c = await connect(ph, "/parties/main/x");
    c.send("ping");
    assert.equal(await c.nextText(), "relayed: counter got ping");
    c.close();
  });

  it("gives a stub socket without _pk, or with an empty one, a random id", async () => {
    class Caller implements Party.Server {
      constructor(readonly room: Party.Room) {}
      async onRequest() {
        const ids = [];
        for (const path of ["/", "/?_pk=", "/?_pk=chosen"]) {
          const ws = await this.room.context.parties.ids!.get("r").socket(path);
          ids.push(
            await new Promise<string>((resolve) =>
              ws.addEventListener("message", (e) => resolve(String(e.data)), { once: true }),
            ),
          );
          ws.close();
        }
        return Response.json(ids);
      }
    }
    const ph = await serve({ parties: { main: Caller, ids: Ids } });
    const [none, empty, chosen] = (await (
      await fetch(`${ph.url}/parties/main/x`)
    ).json()) as string[];
    assert.match(none!, /^[0-9a-f-]{36}$/);
    assert.match(empty!, /^[0-9a-f-]{36}$/);
    assert.equal(chosen, "chosen");
  });

  it("names a stub's room as PartyKit's stub URL does: get('a b') is the room a%20b", async () => {
    class Caller implements Party.Server {
      constructor(readonly room: Party.Room) {}
      async onRequest() {
        const res = await this.room.context.parties.counter!.get("a b").fetch({
          method: "POST",
          body: "3",
        });
        return new Response(await res.text());
      }
    }
    const ph = await serve({ parties: { main: Caller, counter: Counter } });
    assert.equal(await (await fetch(`${ph.url}/parties/main/x`)).text(), "counter/a%20b=3");
    // the same room a client reaches with the percent-encoded id
    assert.equal(await (await fetch(`${ph.url}/parties/counter/a%20b`)).text(), "counter/a%20b=3");
  });
});
