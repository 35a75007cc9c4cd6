// SqlitePlacement: the workers of `start --workers N` without a database, as nodes on one SQLite
// file. Two placements in this process are two workers (each its own connection and node row);
// the shared placement suite runs on it as on LocalPlacement and PostgresPlacement.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { markNodeDead, SqlitePlacement } from "../../src/cluster/sqlite-placement.js";
import { PartyhouseError } from "../../src/core/errors.js";
import { createStorageProvider } from "../../src/storage/provider.js";
import { waitFor } from "../helpers.js";
import { placementSuite } from "../placement/suite.js";

const dir = mkdtempSync(join(tmpdir(), "ph-sqlite-placement-"));
const file = join(dir, "storage.db");
const opened = new Set<{ close(): Promise<unknown> }>();
after(async () => {
  await Promise.allSettled([...opened].map((o) => o.close()));
  rmSync(dir, { recursive: true, force: true });
});

let rooms = 0;
const fresh = () => ({ party: "main", room: `r-${++rooms}` });

async function node(name: string, leaseMs = 5000): Promise<SqlitePlacement> {
  const placement = new SqlitePlacement({ path: file, leaseMs, nodeId: `${name}-${++rooms}` });
  opened.add(placement);
  await placement.join(`http://${name}.test:1999`);
  return placement;
}

const fenced = (e: unknown) => e instanceof PartyhouseError && e.code === "PH_ERR_FENCED";

placementSuite({
  name: "SqlitePlacement",
  fences: true,
  open: async () => {
    const placement = await node("suite");
    return {
      placement,
      storage: { kind: "sqlite", path: file },
      close: () => placement.close(),
    };
  },
});

describe("SqlitePlacement: two workers on one file", () => {
  it("only one claims a room; the other is sent to the owner's url", async () => {
    const [a, b] = [await node("a"), await node("b")];
    const ref = fresh();
    const fromA = a.locate(ref);
    assert.equal(fromA.kind, "here");
    assert.deepEqual(b.locate(ref), { kind: "remote", url: "http://a.test:1999" });
  });

  it("an owner that stops renewing fences itself; the other claims with epoch+1", async () => {
    const a = await node("a", 300);
    const b = await node("b", 300);
    let lost = "";
    a.onLost((reason) => (lost = reason));
    const ref = fresh();
    const first = a.locate(ref);
    assert.ok(first.kind === "here");
    // A paused worker: no renewal runs (its timer is the only renewer).
    a.stopRenewing();
    const taken = await waitFor(
      () => {
        const w = b.locate(ref);
        return w.kind === "here" ? w : undefined;
      },
      10_000,
      "b claims the room once a's lease ran out",
    );
    assert.equal(taken.epoch, first.epoch + 1);
    assert.equal(a.serving(), false);
    assert.match(lost, /could not renew its lease/);
  });

  it("a stale owner's commit changes nothing and fails with PH_ERR_FENCED", async () => {
    const a = await node("a");
    const b = await node("b");
    const ref = fresh();
    const fromA = a.locate(ref);
    assert.ok(fromA.kind === "here");
    const provider = createStorageProvider({ kind: "sqlite", path: file });
    opened.add(provider);
    const storageA = provider.open(ref, { onAlarmChange() {}, epoch: () => fromA.epoch });
    await storageA.put("k", "from a");
    await storageA.sync();
    // The supervisor saw a's process die (here: it only thinks so) and freed its rooms.
    markNodeDead(file, a.nodeId);
    const fromB = b.locate(ref);
    assert.ok(fromB.kind === "here" && fromB.epoch === fromA.epoch + 1, "claimed at once");
    void storageA.put("k", "stale");
    await assert.rejects(storageA.sync(), fenced);
    const other = createStorageProvider({ kind: "sqlite", path: file });
    opened.add(other);
    const storageB = other.open(ref, { onAlarmChange() {}, epoch: () => fromB.epoch });
    assert.equal(await storageB.get("k"), "from a");
    await storageB.put("k", "from b");
    await storageB.sync();
  });

  it("an orphaned alarm is claimed by exactly one of two workers", async () => {
    const a = await node("a");
    const b = await node("b");
    const c = await node("c");
    const ref = fresh();
    const fromC = c.locate(ref);
    assert.ok(fromC.kind === "here");
    const provider = createStorageProvider({ kind: "sqlite", path: file });
    opened.add(provider);
    const storage = provider.open(ref, { onAlarmChange() {}, epoch: () => fromC.epoch });
    await storage.setAlarm(Date.now() - 1);
    await storage.sync();
    markNodeDead(file, c.nodeId);
    const until = Date.now() + 1000;
    const [fromA, fromB] = await Promise.all([
      a.claimDueAlarms(until, 100),
      b.claimDueAlarms(until, 100),
    ]);
    const mine = (rows: readonly { room: string }[]) => rows.filter((r) => r.room === ref.room);
    assert.equal(mine(fromA).length + mine(fromB).length, 1, "claimed once");
    const claimer = mine(fromA).length === 1 ? a : b;
    assert.equal(claimer.heldEpoch(ref), fromC.epoch + 1);
  });
});
