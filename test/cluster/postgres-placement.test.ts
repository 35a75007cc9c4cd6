// PostgresPlacement: room ownership with leases and fencing on a real PostgreSQL database. Two
// placements in this process are two nodes of one cluster (each its own pool and node row).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PostgresPlacement } from "../../src/cluster/postgres-placement.js";
import type { PostgresPlacementOptions } from "../../src/cluster/postgres-placement.js";
import { PartyhouseError } from "../../src/core/errors.js";
import type { StorageProvider } from "../../src/core/api/storage-api.js";
import { createStorageProvider } from "../../src/storage/provider.js";
import { waitFor } from "../helpers.js";
import { placementSuite } from "../placement/suite.js";
import { fileDatabase, whenPostgres } from "../storage/postgres-helpers.js";

const database = fileDatabase();
const opened = new Set<{ close(): Promise<unknown> }>();
after(async () => {
  // Every node and pool this file opened, even when a test failed.
  await Promise.allSettled([...opened].map((o) => o.close()));
});

let rooms = 0;
const fresh = () => ({ party: "main", room: `r-${++rooms}` });

async function node(name: string, options: Partial<PostgresPlacementOptions> = {}) {
  const db = await database();
  const placement = new PostgresPlacement({ databaseUrl: db.url, leaseMs: 5000, ...options });
  opened.add(placement);
  await placement.join(`http://${name}.test:1999`);
  return placement;
}

async function provider(): Promise<StorageProvider> {
  const db = await database();
  const p = createStorageProvider({ kind: "postgres", url: db.url });
  opened.add(p);
  return p;
}

const fenced = (e: unknown) => e instanceof PartyhouseError && e.code === "PH_ERR_FENCED";

await whenPostgres(() => {
  placementSuite({
    name: "PostgresPlacement",
    fences: true,
    open: async () => {
      const db = await database();
      const placement = await node("suite");
      return {
        placement,
        storage: { kind: "postgres", url: db.url },
        close: () => placement.close(),
      };
    },
  });

  describe("PostgresPlacement: two nodes on one database", () => {
    it("only one node claims a room; the other is sent to the owner's url", async () => {
      const [a, b] = await Promise.all([node("a"), node("b")]);
      const ref = fresh();
      const [fromA, fromB] = await Promise.all([a.locate(ref), b.locate(ref)]);
      const here = [fromA, fromB].filter((w) => w.kind === "here");
      assert.equal(here.length, 1, "exactly one owner");
      const owner = fromA.kind === "here" ? "a" : "b";
      const other = owner === "a" ? fromB : fromA;
      assert.deepEqual(other, { kind: "remote", url: `http://${owner}.test:1999` });
      // And it stays so: the owner's lease is renewed.
      const again = await (owner === "a" ? b : a).locate(ref);
      assert.deepEqual(again, other);
      const db = await database();
      const [row] = await db.sql<{ owner: string; epoch: string }[]>`
        SELECT owner, epoch FROM partyhouse_rooms WHERE party = 'main' AND room = ${ref.room}`;
      assert.equal(row!.owner, (owner === "a" ? a : b).nodeId);
      assert.equal(Number(row!.epoch), 1);
    });

    it("an owner that stops renewing fences itself, and the other node claims with epoch+1", async () => {
      const a = await node("a", { leaseMs: 300 });
      const b = await node("b", { leaseMs: 300 });
      let lost = "";
      a.onLost((reason) => (lost = reason));
      const ref = fresh();
      const first = await a.locate(ref);
      assert.equal(first.kind, "here");
      assert.deepEqual(await b.locate(ref), { kind: "remote", url: "http://a.test:1999" });
      a.membership.stop(); // a paused or partitioned node: no renewal gets through
      const taken = await waitFor(
        async () => {
          const w = await b.locate(ref);
          return w.kind === "here" ? w : undefined;
        },
        10_000,
        "b claims the room once a's lease ran out",
      );
      assert.ok(first.kind === "here");
      assert.equal(taken.epoch, first.epoch + 1);
      // a stopped serving before its lease could be claimed (its deadline is lease - margin).
      assert.equal(a.serving(), false);
      assert.match(lost, /could not renew its lease/);
      await assert.rejects(
        a.locate(fresh()),
        (e: unknown) => e instanceof PartyhouseError && e.code === "PH_ERR_CLUSTER_UNAVAILABLE",
      );
    });

    it("a stale owner's commit changes nothing and fails with PH_ERR_FENCED", async () => {
      const a = await node("a", { leaseMs: 300 });
      const b = await node("b", { leaseMs: 300 });
      const ref = fresh();
      const fromA = await a.locate(ref);
      assert.ok(fromA.kind === "here");
      const commitErrors: Error[] = [];
      const storageA = (await provider()).open(ref, {
        onAlarmChange() {},
        onCommitError: (e) => commitErrors.push(e),
        epoch: () => fromA.epoch,
      });
      await storageA.put("k", "from a");
      await storageA.setAlarm(Date.now() + 60_000);
      await storageA.sync(); // one fenced commit

      a.membership.stop();
      const fromB = await waitFor(
        async () => {
          const w = await b.locate(ref);
          return w.kind === "here" ? w : undefined;
        },
        10_000,
        "b takes the room over",
      );
      // a wakes and writes under its old epoch: nothing lands, not even part of the batch.
      void storageA.put({ k: "stale", other: "stale" });
      void storageA.deleteAlarm();
      await assert.rejects(storageA.sync(), fenced);
      assert.equal(commitErrors.length, 1);
      assert.ok(fenced(commitErrors[0]));

      const db = await database();
      const kv = await db.sql<{ key: Buffer }[]>`
        SELECT key FROM partyhouse_kv WHERE party = 'main' AND room = ${ref.room}`;
      assert.deepEqual(
        kv.map((r) => r.key.toString()),
        ["k"],
      );
      const alarms = await db.sql`SELECT 1 FROM partyhouse_alarms WHERE room = ${ref.room}`;
      assert.equal(alarms.length, 1, "the alarm row was not deleted by the stale commit");

      // The new owner reads a's durable write and commits under its epoch.
      const storageB = (await provider()).open(ref, {
        onAlarmChange() {},
        epoch: () => fromB.epoch,
      });
      assert.equal(await storageB.get("k"), "from a");
      await storageB.put("k", "from b");
      await storageB.sync();
      const [row] = await db.sql<{ value: Buffer; version: string }[]>`
        SELECT k.value, r.version FROM partyhouse_kv k JOIN partyhouse_rooms r USING (party, room)
        WHERE k.room = ${ref.room} AND k.key = 'k'::bytea`;
      assert.ok(row !== undefined);
      assert.equal(row.value.length > 0, true);
      // Two fenced commits landed (a's first turn, b's put); the fenced one did not count.
      assert.equal(Number(row.version), 2);
    });

    it("release lets the other node claim at once, under a new epoch", async () => {
      const a = await node("a", { leaseMs: 60_000 });
      const b = await node("b", { leaseMs: 60_000 });
      const ref = fresh();
      const first = await a.locate(ref);
      assert.ok(first.kind === "here");
      assert.equal((await b.locate(ref)).kind, "remote");
      await a.release(ref);
      const taken = await b.locate(ref);
      assert.deepEqual(taken, { kind: "here", epoch: first.epoch + 2 });
      // a's release was of its own epoch only: releasing again does not free b's room.
      await a.release(ref);
      assert.deepEqual(await a.locate(ref), { kind: "remote", url: "http://b.test:1999" });
    });

    it("a database at schema 1 (before the cluster tables) is migrated by a joining node", async () => {
      const db = await database();
      const old = createStorageProvider({ kind: "postgres", url: db.url, schema: "old" });
      opened.add(old);
      const room = old.open({ party: "main", room: "kept" }, { onAlarmChange() {} });
      await room.put("k", "v");
      await room.sync();
      // Back to what a version-1 partyhouse left behind.
      await db.sql.unsafe(
        "DROP TABLE old.partyhouse_nodes, old.partyhouse_rooms, old.partyhouse_cron_ticks, " +
          "old.partyhouse_log; " +
          "DELETE FROM old.partyhouse_schema_version WHERE version > 1",
      );
      const placement = await node("migrating", { schema: "old" });
      assert.equal((await placement.locate({ party: "main", room: "kept" })).kind, "here");
      const versions = await db.sql<{ version: number }[]>`
        SELECT version FROM old.partyhouse_schema_version ORDER BY version`;
      assert.deepEqual(
        versions.map((v) => v.version),
        [1, 2, 3, 4],
      );
      const [kept] = await db.sql`SELECT 1 FROM old.partyhouse_kv WHERE room = 'kept'`;
      assert.ok(kept !== undefined, "the data of schema 1 is still there");
    });

    it("a node that leaves (dead) gives its rooms up at once", async () => {
      const a = await node("a", { leaseMs: 60_000 });
      const b = await node("b", { leaseMs: 60_000 });
      const ref = fresh();
      assert.equal((await a.locate(ref)).kind, "here");
      await a.close();
      assert.equal(a.serving(), false);
      assert.equal((await b.locate(ref)).kind, "here");
    });
  });
});
