import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type * as Party from "../../src/server.js";
import { closeAll, connect, recordingLogger, serve, sleep, waitFor } from "../helpers.js";

after(closeAll);

describe("hibernation", () => {
  it("drops an idle hibernating instance, keeps sockets, id, uri, state and tags, and wakes it on the next message", async () => {
    const counts = { constructed: 0, started: 0 };
    const listenerHits: string[] = [];
    class Sleepy implements Party.Server {
      readonly options = { hibernate: true };
      constructor(readonly room: Party.Room) {
        counts.constructed++;
      }
      onStart() {
        counts.started++;
      }
      getConnectionTags(_conn: Party.Connection, ctx: Party.ConnectionContext) {
        return [new URL(ctx.request.url).searchParams.get("team") ?? "none"];
      }
      onConnect(conn: Party.Connection<{ name: string }>) {
        conn.setState({ name: `user-${conn.id}` });
        conn.addEventListener("message", () => listenerHits.push(conn.id));
      }
      onMessage(
        message: string | ArrayBuffer | ArrayBufferView,
        sender: Party.Connection<{ name: string }>,
      ) {
        const reds = [...this.room.getConnections("red")].map((c) => c.id).sort();
        sender.send(
          JSON.stringify({
            msg: String(message),
            state: sender.state,
            uri: new URL(sender.uri).pathname,
            reds,
            constructed: counts.constructed,
            started: counts.started,
          }),
        );
      }
    }
    const ph = await serve({ parties: { main: Sleepy }, limits: { hibernateAfterMs: 100 } });
    const a = await connect(ph, "/parties/main/h?_pk=a&team=red");
    const b = await connect(ph, "/parties/main/h?_pk=b&team=blue");
    a.send("one");
    const first = await a.nextJson<{ constructed: number; reds: string[] }>();
    assert.equal(first.constructed, 1);
    assert.deepEqual(first.reds, ["a"]);
    assert.deepEqual(listenerHits, ["a"]);

    await waitFor(() => ph.inspect.room("main", "h")?.instance === false, 5000, "hibernation");
    assert.equal(
      ph.inspect.room("main", "h")?.connections.length,
      2,
      "sockets stay open while the instance is gone",
    );

    for (let i = 0; i < 10; i++) a.send(`m${i}`);
    for (let i = 0; i < 10; i++) {
      const r = await a.nextJson<{
        msg: string;
        state: { name: string };
        uri: string;
        reds: string[];
        constructed: number;
        started: number;
      }>();
      assert.equal(r.msg, `m${i}`, "messages arrive in order across the wake-up");
      assert.deepEqual(r.state, { name: "user-a" });
      assert.equal(r.uri, "/parties/main/h");
      assert.deepEqual(r.reds, ["a"]);
      assert.equal(r.constructed, 2);
      assert.equal(r.started, 2);
    }
    // As on PartyKit, the listener attached by hand in onConnect did not survive.
    assert.deepEqual(listenerHits, ["a"]);
    a.close();
    b.close();
  });

  it("treats a legacy module with onMessage as hibernating, as PartyKit does", async () => {
    let builds = 0;
    const legacy: Party.PartyKitServer = {
      onMessage(message, conn) {
        builds++;
        conn.send(`got ${String(message)}`);
      },
    };
    const ph = await serve({ parties: { main: legacy }, limits: { hibernateAfterMs: 50 } });
    const c = await connect(ph, "/parties/main/m");
    c.send("x");
    assert.equal(await c.nextText(), "got x");
    assert.equal(ph.inspect.room("main", "m")?.hibernates, true);
    await waitFor(() => ph.inspect.room("main", "m")?.instance === false, 5000, "hibernation");
    c.send("y");
    assert.equal(await c.nextText(), "got y");
    assert.equal(builds, 2);
    c.close();
  });

  it("limits hibernating connection state as Cloudflare limits the attachment (id + uri + state)", async () => {
    class Big implements Party.Server {
      readonly options = { hibernate: true };
      onMessage(message: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
        try {
          sender.setState({ blob: "x".repeat(Number(message)) });
          sender.send("stored");
        } catch (e) {
          sender.send(`${(e as { code?: string }).code}: ${(e as Error).message}`);
        }
      }
    }
    const ph = await serve({ parties: { main: Big } });
    const c = await connect(ph, "/parties/main/s");
    c.send("100");
    assert.equal(await c.nextText(), "stored");
    c.send("5000");
    assert.match(
      await c.nextText(),
      /^PH_ERR_STATE_TOO_LARGE: A WebSocket 'attachment' cannot be larger than 2048 bytes\.'attachment' was \d+ bytes\.$/,
    );
    c.close();
    // The uri counts too: with a long query string, less state fits.
    const long = await connect(ph, `/parties/main/s?pad=${"p".repeat(1000)}`);
    long.send("1500");
    assert.match(await long.nextText(), /^PH_ERR_STATE_TOO_LARGE/);
    long.send("900");
    assert.equal(await long.nextText(), "stored");
    long.close();
  });
});

describe("idle eviction", () => {
  it("evicts a room with no connections after the idle timeout, keeps its storage, and starts it again on demand", async () => {
    let starts = 0;
    class Counter implements Party.Server {
      count = 0;
      constructor(readonly room: Party.Room) {}
      async onStart() {
        starts++;
        this.count = (await this.room.storage.get<number>("count")) ?? 0;
      }
      async onRequest() {
        this.count++;
        await this.room.storage.put("count", this.count);
        return new Response(String(this.count));
      }
    }
    const ph = await serve({ parties: { main: Counter }, limits: { idleTimeoutMs: 100 } });
    assert.equal(await (await fetch(`${ph.url}/parties/main/e`)).text(), "1");
    assert.equal(await (await fetch(`${ph.url}/parties/main/e`)).text(), "2");
    await waitFor(() => ph.inspect.room("main", "e") === undefined, 5000, "eviction");
    assert.equal(await (await fetch(`${ph.url}/parties/main/e`)).text(), "3");
    assert.equal(starts, 2);
  });

  it("does not evict a room that still has a connection", async () => {
    class Hold implements Party.Server {
      onConnect(conn: Party.Connection) {
        conn.send("hi");
      }
    }
    const ph = await serve({ parties: { main: Hold }, limits: { idleTimeoutMs: 50 } });
    const c = await connect(ph, "/parties/main/k");
    await c.next();
    await sleep(300);
    assert.ok(ph.inspect.room("main", "k")?.instance);
    c.close();
    await waitFor(() => ph.inspect.room("main", "k") === undefined, 5000, "eviction after close");
  });
});

describe("backpressure", () => {
  it("closes a client that stops reading with 1008 once its buffer passes the limit; the room goes on", async () => {
    class Flood implements Party.Server {
      async onMessage(message: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
        if (message !== "flood") {
          sender.send(`echo:${String(message)}`);
          return;
        }
        const chunk = "y".repeat(64 * 1024);
        // Yield between chunks so a client that reads keeps up; one that does not falls behind.
        for (let i = 0; i < 400 && sender.readyState === 1; i++) {
          sender.send(chunk);
          await new Promise((r) => setImmediate(r));
        }
      }
    }
    const log = recordingLogger();
    const ph = await serve({
      parties: { main: Flood },
      log,
      limits: { maxBufferedBytes: 1024 * 1024 },
    });
    const slow = await connect(ph, "/parties/main/b");
    const other = await connect(ph, "/parties/main/b");
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    slow.send("flood");
    await waitFor(
      () => log.errors.some((e) => e.code === "PH_ERR_SLOW_CONSUMER"),
      20000,
      "slow consumer detected",
    );
    socket.resume();
    const closed = await slow.closed;
    assert.equal(closed.code, 1008);
    other.send("alive");
    assert.equal(await other.nextText(), "echo:alive");
    other.close();
  });
});
