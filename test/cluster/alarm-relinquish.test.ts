// A node that stops serving (its renewals stop getting through, so it fences itself) cancels the
// alarm timers of its rooms; the other node fires the alarm once it owns the room. Two
// startPartyhouse nodes in this process on a real PostgreSQL database.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PostgresPlacement } from "../../src/cluster/postgres-placement.js";
import type * as Party from "../../src/core/api/types.js";
import { createLogger } from "../../src/runtime/logger.js";
import { startPartyhouse } from "../../src/runtime/start.js";
import type { Partyhouse } from "../../src/runtime/start.js";
import { waitFor } from "../helpers.js";
import { fileDatabase, whenPostgres } from "../storage/postgres-helpers.js";

const database = fileDatabase();
const closing: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closing.reverse()) await close().catch(() => {});
});

function counter(nodeId: string) {
  return class Counter implements Party.Server {
    constructor(readonly room: Party.Room) {}
    async onRequest(req: Request): Promise<Response> {
      const delay = Number(new URL(req.url).searchParams.get("in"));
      await this.room.storage.setAlarm(Date.now() + delay);
      return new Response(nodeId);
    }
    async onAlarm(): Promise<void> {
      const count = (await this.room.storage.get<number>("count")) ?? 0;
      void this.room.storage.put("count", count + 1);
      void this.room.storage.put(`fired-${nodeId}-${count + 1}`, 1);
    }
  };
}

interface Node {
  readonly ph: Partyhouse;
  readonly placement: PostgresPlacement;
  readonly logged: string[];
}

async function startNode(nodeId: string): Promise<Node> {
  const db = await database();
  const placement = new PostgresPlacement({ databaseUrl: db.url, nodeId, leaseMs: 500 });
  closing.push(() => placement.close());
  const logged: string[] = [];
  const ph = await startPartyhouse({
    parties: { main: counter(nodeId) },
    storage: { kind: "postgres", url: db.url },
    placement,
    log: createLogger("json", { write: (line) => logged.push(line) }),
  });
  closing.push(() => ph.close());
  await placement.join(ph.url);
  return { ph, placement, logged };
}

async function firedKeys(room: string): Promise<string[]> {
  const db = await database();
  const rows = await db.sql<{ key: Buffer }[]>`
    SELECT key FROM partyhouse_kv WHERE party = 'main' AND room = ${room}`;
  return rows.map((r) => r.key.toString()).filter((k) => k.startsWith("fired-"));
}

await whenPostgres(() => {
  describe("a node that fences itself", () => {
    it("cancels its rooms' alarm timers; the new owner fires the alarm once", async () => {
      const a = await startNode("node-a");
      const b = await startNode("node-b");
      const room = "fenced";
      const res = await fetch(`${a.ph.url}/parties/main/${room}?in=3000`, { method: "POST" });
      assert.equal(await res.text(), "node-a");
      await waitFor(() => a.ph.inspect.counts().alarms === 1, 5000, "a has the alarm's timer");

      a.placement.membership.stop(); // no renewal gets through: a fences itself before lease end
      await waitFor(() => !a.placement.serving(), 5000, "a stops serving");
      // The timer goes with the room (the lost hook or the next event drops every room).
      await waitFor(() => a.ph.inspect.counts().alarms === 0, 5000, "a's timer is cancelled");
      assert.equal(a.ph.inspect.counts().rooms, 0);

      await waitFor(async () => (await firedKeys(room)).length > 0, 15_000, "b fires it");
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(await firedKeys(room), ["fired-node-b-1"]);
      assert.doesNotMatch(a.logged.join("\n"), /onAlarm/, "a never tried to run the alarm");
      assert.equal(b.ph.inspect.counts().rooms, 1, "b took the room on to fire it");
      assert.equal(b.ph.inspect.counts().alarms, 0, "and cleared it");
    });
  });
});
