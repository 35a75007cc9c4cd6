// PostgresPlacement.claimDueAlarms on a real PostgreSQL database, two placements in this process
// as two nodes: a node gets the due alarms of its own rooms and of rooms no live node owns (which
// it claims, epoch + 1), never those of a room another live node owns; two nodes sweeping at once
// take disjoint alarms; a stale owner's clear of a fired alarm is fenced.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PostgresPlacement } from "../../src/cluster/postgres-placement.js";
import type { PostgresPlacementOptions } from "../../src/cluster/postgres-placement.js";
import type { AlarmRow, RoomRef, StorageProvider } from "../../src/core/api/storage-api.js";
import { PartyhouseError } from "../../src/core/errors.js";
import { createStorageProvider } from "../../src/storage/provider.js";
import { waitFor } from "../helpers.js";
import { fileDatabase, whenPostgres } from "../storage/postgres-helpers.js";

const database = fileDatabase();
const opened = new Set<{ close(): Promise<unknown> }>();
after(async () => {
  await Promise.allSettled([...opened].map((o) => o.close()));
});

let rooms = 0;
const fresh = (): RoomRef => ({ party: "main", room: `r-${++rooms}` });
/** The rooms of `rows` among `of` (earlier tests' nodes are dead: their alarms are orphans too). */
const names = (rows: readonly AlarmRow[], of: readonly RoomRef[]) =>
  rows
    .map((r) => r.room)
    .filter((room) => of.some((ref) => ref.room === room))
    .sort();
const FAR = () => Date.now() + 3_600_000;

async function node(name: string, options: Partial<PostgresPlacementOptions> = {}) {
  const db = await database();
  const placement = new PostgresPlacement({ databaseUrl: db.url, leaseMs: 5000, ...options });
  opened.add(placement);
  await placement.join(`http://${name}.test:1999`);
  return placement;
}

let shared: StorageProvider | undefined;
async function provider(): Promise<StorageProvider> {
  if (shared !== undefined) return shared;
  const db = await database();
  shared = createStorageProvider({ kind: "postgres", url: db.url });
  opened.add(shared);
  return shared;
}

/** Writes an alarm for `ref` under `epoch` (a fenced commit, as the owner's room does). */
async function storeAlarm(ref: RoomRef, time: number, epoch: number | undefined): Promise<void> {
  const storage = (await provider()).open(ref, { onAlarmChange() {}, epoch: () => epoch });
  await storage.setAlarm(time);
  await storage.sync();
  (await provider()).release(ref);
}

async function ownerOf(ref: RoomRef): Promise<{ owner: string | null; epoch: number }> {
  const db = await database();
  const [row] = await db.sql<{ owner: string | null; epoch: number }[]>`
    SELECT owner, epoch::float8 AS epoch FROM partyhouse_rooms
    WHERE party = ${ref.party} AND room = ${ref.room}`;
  return row!;
}

await whenPostgres(() => {
  describe("PostgresPlacement.claimDueAlarms", () => {
    it("own and orphaned alarms, never a live owner's; orphans are claimed", async () => {
      const a = await node("a");
      const b = await node("b");
      const ownedByA = fresh();
      const ownedByB = fresh();
      const never = fresh(); // no rooms row at all (written before the cluster)
      const released = fresh();
      const later = fresh();
      const locA = await a.locate(ownedByA);
      const locB = await b.locate(ownedByB);
      const locR = await a.locate(released);
      assert.ok(locA.kind === "here" && locB.kind === "here" && locR.kind === "here");
      const mine = [ownedByA, ownedByB, never, released, later];
      const now = Date.now() + 500;
      await storeAlarm(ownedByA, now, locA.epoch);
      await storeAlarm(ownedByB, now, locB.epoch);
      await storeAlarm(never, now, undefined);
      await storeAlarm(released, now, locR.epoch);
      await a.release(released);
      await storeAlarm(later, FAR(), undefined);

      const forB = await b.claimDueAlarms(now + 1000, 100);
      assert.deepEqual(names(forB, mine), names([ownedByB, never, released] as AlarmRow[], mine));
      assert.equal(forB.find((r) => r.room === never.room)?.time, now);
      // The orphans are b's now, each with a new epoch that b holds.
      assert.equal((await ownerOf(never)).owner, b.nodeId);
      assert.deepEqual(await ownerOf(released), { owner: b.nodeId, epoch: locR.epoch + 2 });
      assert.equal(b.heldEpoch(released), locR.epoch + 2);
      // a keeps its live room's alarm and gets nothing of b's.
      assert.deepEqual(names(await a.claimDueAlarms(now + 1000, 100), mine), [ownedByA.room]);
      assert.deepEqual(await ownerOf(ownedByA), { owner: a.nodeId, epoch: locA.epoch });
      await a.close();
      await b.close();
    });

    it("a dead owner's alarms go to one live node; two sweeps at once take disjoint rows", async () => {
      const dead = await node("dead", { leaseMs: 300 });
      const refs = Array.from({ length: 20 }, fresh);
      const now = Date.now() + 500;
      for (const ref of refs) {
        const at = await dead.locate(ref);
        assert.ok(at.kind === "here");
        await storeAlarm(ref, now, at.epoch);
      }
      dead.membership.stop(); // it stops renewing: its lease runs out by itself
      const b = await node("b");
      const c = await node("c");
      const got = await waitFor(
        async () => {
          const [fromB, fromC] = await Promise.all([
            b.claimDueAlarms(now + 1000, 100),
            c.claimDueAlarms(now + 1000, 100),
          ]);
          const n = names(fromB, refs).length + names(fromC, refs).length;
          return n > 0 ? { fromB, fromC } : undefined;
        },
        10_000,
        "the dead node's alarms are claimed",
      );
      const all = [...names(got.fromB, refs), ...names(got.fromC, refs)];
      assert.equal(new Set(all).size, all.length, "no alarm went to both nodes");
      // Later sweeps: each node sees exactly the rooms it claimed (now its own), all 20 in all.
      const [againB, againC] = await Promise.all([
        b.claimDueAlarms(now + 1000, 100),
        c.claimDueAlarms(now + 1000, 100),
      ]);
      for (const r of names(got.fromB, refs))
        assert.ok(names(againB, refs).includes(r), "b keeps it");
      for (const r of names(got.fromC, refs))
        assert.ok(names(againC, refs).includes(r), "c keeps it");
      const final = [...names(againB, refs), ...names(againC, refs)];
      assert.equal(new Set(final).size, refs.length);
      assert.equal(final.length, refs.length);
      for (const room of names(againB, refs))
        assert.equal((await ownerOf({ party: "main", room })).owner, b.nodeId);
      for (const room of names(againC, refs))
        assert.equal((await ownerOf({ party: "main", room })).owner, c.nodeId);
      await b.close();
      await c.close();
    });

    it("a stale owner's clear of a fired alarm changes nothing (fenced)", async () => {
      const a = await node("a", { leaseMs: 300 });
      const b = await node("b", { leaseMs: 300 });
      const ref = fresh();
      const at = await a.locate(ref);
      assert.ok(at.kind === "here");
      const time = Date.now() + 500;
      await storeAlarm(ref, time, at.epoch);
      const stale = (await provider()).open(ref, { onAlarmChange() {}, epoch: () => at.epoch });
      assert.equal(await stale.getAlarm(), time);
      a.membership.stop();
      await waitFor(
        async () => names(await b.claimDueAlarms(time + 1000, 100), [ref]).length === 1,
        10_000,
        "b claims the orphaned alarm",
      );
      await assert.rejects(
        stale.clearFiredAlarm(time),
        (e: unknown) => e instanceof PartyhouseError && e.code === "PH_ERR_FENCED",
      );
      const db = await database();
      const left = await db.sql`SELECT 1 FROM partyhouse_alarms WHERE room = ${ref.room}`;
      assert.equal(left.length, 1, "the row is still there for b to fire");
    });
  });
});
