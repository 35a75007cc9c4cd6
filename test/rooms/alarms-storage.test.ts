import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as Party from "../../src/server.js";
import { closeAll, connect, recordingLogger, serve, waitFor } from "../helpers.js";

after(closeAll);

const fired: string[] = [];

class Alarmed implements Party.Server {
  constructor(readonly room: Party.Room) {}
  async onRequest(req: Party.Request) {
    const url = new URL(req.url);
    const inMs = Number(url.searchParams.get("in") ?? "50");
    if (url.searchParams.has("delete")) {
      await this.room.storage.deleteAlarm();
      return new Response("deleted");
    }
    await this.room.storage.setAlarm(Date.now() + inMs);
    return new Response(String(await this.room.storage.getAlarm()));
  }
  async onAlarm() {
    const n = ((await this.room.storage.get<number>("fired")) ?? 0) + 1;
    await this.room.storage.put("fired", n);
    fired.push(`${this.room.id}:${n}`);
    if (this.room.id === "throws" && n === 1) throw new Error("first try fails");
  }
}

describe("alarms", () => {
  it("fires onAlarm once, at or after the time, and clears the alarm", async () => {
    const ph = await serve({ parties: { main: Alarmed } });
    const before = Date.now();
    const res = await fetch(`${ph.url}/parties/main/a1?in=80`);
    const at = Number(await res.text());
    assert.ok(at >= before + 80);
    await waitFor(() => fired.includes("a1:1"), 5000, "alarm");
    assert.ok(Date.now() >= at);
    const storage = await ph.inspect.storage("main", "a1");
    await waitFor(async () => (await storage.getAlarm()) === null, 5000, "alarm row cleared");
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(fired.filter((f) => f.startsWith("a1:")).length, 1, "fires exactly once");
  });

  it("lets onAlarm set the next alarm (a repeating timer)", async () => {
    const ticks: number[] = [];
    class Ticker implements Party.Server {
      constructor(readonly room: Party.Room) {}
      async onRequest() {
        await this.room.storage.setAlarm(Date.now() + 20);
        return new Response("armed");
      }
      async onAlarm() {
        ticks.push(Date.now());
        if (ticks.length < 3) await this.room.storage.setAlarm(Date.now() + 20);
      }
    }
    const ph = await serve({ parties: { main: Ticker } });
    await fetch(`${ph.url}/parties/main/t`);
    await waitFor(() => ticks.length === 3, 5000, "three ticks");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ticks.length, 3);
    assert.equal(await (await ph.inspect.storage("main", "t")).getAlarm(), null);
  });

  it("reports no alarm from getAlarm() while onAlarm runs, unless onAlarm set a new one", async () => {
    const seen: Array<[string, number | null]> = [];
    class Peek implements Party.Server {
      constructor(readonly room: Party.Room) {}
      async onRequest() {
        await this.room.storage.setAlarm(Date.now() + 20);
        return new Response("armed");
      }
      async onAlarm() {
        seen.push(["start", await this.room.storage.getAlarm()]);
        const inTxn = await this.room.storage.transaction((txn) => txn.getAlarm());
        seen.push(["txn", inTxn]);
        if (seen.length > 2) return;
        const next = Date.now() + 30;
        await this.room.storage.setAlarm(next);
        seen.push(["after setAlarm", (await this.room.storage.getAlarm()) === next ? 1 : 0]);
      }
    }
    const ph = await serve({ parties: { main: Peek } });
    await fetch(`${ph.url}/parties/main/p`);
    await waitFor(() => seen.length === 5, 5000, "two alarms");
    assert.deepEqual(seen, [
      ["start", null],
      ["txn", null],
      ["after setAlarm", 1],
      ["start", null],
      ["txn", null],
    ]);
    await waitFor(
      async () => (await (await ph.inspect.storage("main", "p")).getAlarm()) === null,
      5000,
      "alarm row cleared",
    );
  });

  it("does not fire a deleted alarm", async () => {
    const ph = await serve({ parties: { main: Alarmed } });
    await fetch(`${ph.url}/parties/main/a2?in=100`);
    await fetch(`${ph.url}/parties/main/a2?delete=1`);
    await new Promise((r) => setTimeout(r, 250));
    assert.ok(!fired.some((f) => f.startsWith("a2:")));
  });

  it("retries an onAlarm that throws", async () => {
    const log = recordingLogger();
    const ph = await serve({ parties: { main: Alarmed }, log, alarmRetryBaseMs: 30 });
    await fetch(`${ph.url}/parties/main/throws?in=10`);
    await waitFor(() => fired.includes("throws:2"), 5000, "retry");
    assert.ok(
      log.errors.some((e) => e.code === "PH_ERR_HANDLER" && e.message.includes("retrying")),
    );
  });

  it("keeps a pending alarm across a restart and fires it after start (sqlite)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ph-alarm-"));
    const storage = { kind: "sqlite" as const, path: join(dir, "state.sqlite3") };
    const first = await serve({ parties: { main: Alarmed }, storage });
    await fetch(`${first.url}/parties/main/persisted?in=300`);
    await first.close();
    assert.ok(!fired.some((f) => f.startsWith("persisted:")), "not fired before the restart");
    const second = await serve({ parties: { main: Alarmed }, storage });
    await waitFor(() => fired.includes("persisted:1"), 5000, "alarm after restart");
    await second.close();
  });
});

describe("storage through the room", () => {
  class Notes implements Party.Server {
    constructor(readonly room: Party.Room) {}
    onConnect(conn: Party.Connection) {
      // Unawaited writes in one turn, then a read in the same turn: it must see them.
      void this.room.storage.put("a", { n: 1, when: new Date(0), tags: new Set(["x"]) });
      void this.room.storage.put("b", new Map([["k", 1]]));
      void this.room.storage.delete("a");
      void this.room.storage
        .get("b")
        .then((b) => conn.send(JSON.stringify({ b: b instanceof Map ? [...b] : null })));
    }
    async onRequest(req: Party.Request) {
      if (req.method === "POST") {
        const body = (await req.json()) as Record<string, unknown>;
        await this.room.storage.put(body);
        return new Response("ok");
      }
      const list = await this.room.storage.list({ prefix: "k:" });
      return Response.json([...list]);
    }
  }

  it("gives read-your-writes for unawaited writes and keeps data across a restart (sqlite)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ph-store-"));
    const storage = { kind: "sqlite" as const, path: join(dir, "state.sqlite3") };
    const first = await serve({ parties: { main: Notes }, storage });
    const c = await connect(first, "/parties/main/n");
    assert.deepEqual(await c.nextJson(), { b: [["k", 1]] });
    c.close();
    const post = await fetch(`${first.url}/parties/main/n`, {
      method: "POST",
      body: JSON.stringify({ "k:2": "two", "k:1": "one", other: 3 }),
    });
    assert.equal(await post.text(), "ok");
    await first.close();
    const second = await serve({ parties: { main: Notes }, storage });
    const res = await fetch(`${second.url}/parties/main/n`);
    assert.deepEqual(await res.json(), [
      ["k:1", "one"],
      ["k:2", "two"],
    ]);
  });

  it("rejects an oversized value with PH_ERR_STORAGE_VALUE and keeps serving", async () => {
    class Big implements Party.Server {
      constructor(readonly room: Party.Room) {}
      async onRequest() {
        try {
          await this.room.storage.put("big", "x".repeat(200 * 1024));
          return new Response("stored");
        } catch (e) {
          return new Response(String((e as { code?: string }).code), { status: 413 });
        }
      }
    }
    const ph = await serve({ parties: { main: Big } });
    const res = await fetch(`${ph.url}/parties/main/x`);
    assert.equal(res.status, 413);
    assert.equal(await res.text(), "PH_ERR_STORAGE_VALUE");
  });
});
