// Durable Objects' gates, seen from a client. The driver under the server is the real memory
// driver behind SpyDriver, which can hold commits back (a slow disk, a far database) or fail one.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type * as Party from "../../src/core/api/types.js";
import { providerFromDriver } from "../../src/storage/provider.js";
import { MemoryDriver } from "../../src/storage/memory.js";
import { Client, closeAll, recordingLogger, serve, waitFor, wsUrl } from "../helpers.js";
import { SpyDriver } from "../storage/helpers.js";

/** A commit gate the test opens by hand. */
function holdCommits(spy: SpyDriver): () => void {
  let open!: () => void;
  spy.commitGate = new Promise<void>((r) => (open = r));
  return () => {
    spy.commitGate = undefined;
    open();
  };
}

class Gated implements Party.Server {
  constructor(readonly room: Party.Room) {}
  async onMessage(raw: string | ArrayBuffer, conn: Party.Connection): Promise<void> {
    const [op, arg = ""] = String(raw).split(" ");
    switch (op) {
      case "write": // the common PartyKit shape: write without awaiting, then answer
        void this.room.storage.put(`k:${arg}`, arg);
        conn.send(`ack ${arg}`);
        break;
      case "awaited":
        await this.room.storage.put(`k:${arg}`, arg);
        conn.send(`ack ${arg}`);
        break;
      case "unconfirmed":
        void this.room.storage.put(`k:${arg}`, arg, { allowUnconfirmed: true });
        conn.send(`ack ${arg}`);
        break;
      case "echo":
        conn.send(`echo ${arg}`);
        break;
      case "broadcast":
        void this.room.storage.put(`k:${arg}`, arg);
        this.room.broadcast(`all ${arg}`);
        break;
      case "incr": {
        // Read-modify-write across an await: only the input gate keeps two of these apart.
        const n = ((await this.room.storage.get<number>("n", { noCache: true })) ?? 0) + 1;
        await this.room.storage.put("n", n, { noCache: true });
        break;
      }
      case "count":
        conn.send(`count ${(await this.room.storage.get<number>("n")) ?? 0}`);
        break;
    }
  }
  async onRequest(): Promise<Response> {
    void this.room.storage.put("http", Date.now());
    return new Response("stored");
  }
}

async function gatedServer(asyncReads = false) {
  const spy = new SpyDriver(new MemoryDriver(), asyncReads);
  const log = recordingLogger();
  const ph = await serve({ parties: { main: Gated }, storage: providerFromDriver(spy), log });
  return { ph, spy, log };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out: ${what}`)), ms),
    ),
  ]);
}

/** Resolves with the next message, or "nothing" if none arrives within `ms`. */
async function nextOrNothing(c: Client, ms: number): Promise<string> {
  try {
    return String(await c.next(ms));
  } catch {
    return "nothing";
  }
}

describe("output gate", () => {
  after(closeAll);

  it("holds a reply sent after a write until the write is durable, then keeps order", async () => {
    const { ph, spy } = await gatedServer();
    const c = await new Client(wsUrl(ph, "/parties/main/out")).open();
    c.ws.send("echo warm");
    assert.equal(await c.next(), "echo warm", "no write before it: not delayed");
    const release = holdCommits(spy);
    c.ws.send("write 1");
    c.ws.send("echo 2"); // no write of its own, but it must not overtake the held ack
    assert.equal(await nextOrNothing(c, 300), "nothing", "nothing leaves before the commit");
    assert.equal(spy.commits.length, 0);
    release();
    assert.equal(await c.next(), "ack 1");
    assert.equal(await c.next(), "echo 2");
    assert.equal(spy.commits.length, 1);
    c.ws.close();
  });

  it("holds awaited writes too (they resolve from the cache), and broadcasts", async () => {
    const { ph, spy } = await gatedServer();
    const a = await new Client(wsUrl(ph, "/parties/main/bc")).open();
    const b = await new Client(wsUrl(ph, "/parties/main/bc")).open();
    const release = holdCommits(spy);
    a.ws.send("awaited 1");
    a.ws.send("broadcast 2");
    assert.equal(await nextOrNothing(b, 300), "nothing");
    release();
    // Both of a's messages arrive (ws may run the second handler before the first resumes).
    assert.deepEqual([String(await a.next()), String(await a.next())].sort(), ["ack 1", "all 2"]);
    assert.equal(await b.next(), "all 2");
    a.ws.close();
    b.ws.close();
  });

  it("does not hold a reply after an allowUnconfirmed write", async () => {
    const { ph, spy } = await gatedServer();
    const c = await new Client(wsUrl(ph, "/parties/main/unc")).open();
    const release = holdCommits(spy);
    c.ws.send("unconfirmed 1");
    assert.equal(await c.next(), "ack 1");
    release();
    c.ws.close();
  });

  it("holds an onRequest Response until the write before it is durable", async () => {
    const { ph, spy } = await gatedServer();
    const release = holdCommits(spy);
    let answered = false;
    const res = fetch(`${ph.url}/parties/main/http`).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(answered, false, "the response waits for the commit");
    release();
    assert.equal(await (await res).text(), "stored");
  });

  it("discards held messages and resets only that room when a commit fails", async () => {
    const { ph, spy, log } = await gatedServer();
    const victim = await new Client(wsUrl(ph, "/parties/main/victim")).open();
    const bystander = await new Client(wsUrl(ph, "/parties/main/bystander")).open();
    victim.ws.send("awaited before");
    assert.equal(await victim.next(), "ack before");
    await waitFor(() => spy.commits.length === 1, 5000, "first commit");
    spy.failNextCommit = new Error("disk on fire");
    victim.ws.send("write lost");
    const closed = await within(victim.closed, 10_000, "the reset closes the socket");
    assert.equal(closed.code, 1011);
    assert.equal(
      await nextOrNothing(victim, 50),
      "nothing",
      "the ack of the lost write never left",
    );
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_ROOM_RESET"));
    assert.ok(log.errors.some((e) => /disk on fire/.test(e.message)));
    bystander.ws.send("echo still");
    assert.equal(await bystander.next(), "echo still", "other rooms go on");
    // The room comes back with what was durable, and without what was not.
    const again = await new Client(wsUrl(ph, "/parties/main/victim")).open();
    const storage = await ph.inspect.storage("main", "victim");
    assert.equal(await storage.get("k:before"), "before");
    assert.equal(await storage.get("k:lost"), undefined);
    again.ws.send("write after");
    assert.equal(await again.next(), "ack after");
    again.ws.close();
    bystander.ws.close();
  });
});

describe("input gate", () => {
  after(closeAll);

  it("keeps read-modify-write messages of two clients from interleaving", async () => {
    // Asynchronous reads (the shape of a networked store): each get() waits a macrotask.
    const { ph } = await gatedServer(true);
    const a = await new Client(wsUrl(ph, "/parties/main/rmw")).open();
    const b = await new Client(wsUrl(ph, "/parties/main/rmw")).open();
    for (let i = 0; i < 50; i++) {
      a.ws.send("incr");
      b.ws.send("incr");
    }
    a.ws.send("count");
    // Messages of one connection arrive in order, but b's may still be in flight: poll.
    let last = "";
    await waitFor(
      async () => {
        a.ws.send("count");
        last = String(await a.next());
        return last === "count 100";
      },
      10_000,
      "100 increments",
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}; last answer: ${last}`);
    });
    assert.equal(last, "count 100");
    a.ws.close();
    b.ws.close();
  });
});
