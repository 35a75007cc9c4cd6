/**
 * The behaviour every Placement implementation must show, as test/storage/suite.ts is for drivers:
 * run by placement/local.test.ts (LocalPlacement: one process), cluster/sqlite-placement.test.ts
 * (SqlitePlacement: the workers of --workers on one file) and cluster/postgres-placement.test.ts
 * (PostgresPlacement: nodes on one database). Each test opens a fresh node.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Placement } from "../../src/core/placement.js";
import type { StorageOption } from "../../src/runtime/start.js";
import type * as Party from "../../src/core/api/types.js";
import { serve } from "../helpers.js";

export interface PlacementTarget {
  name: string;
  /** A node that has joined its cluster; `close` leaves it. `storage` is what the node's rooms use. */
  open(): Promise<{ placement: Placement; storage: StorageOption; close(): Promise<void> }>;
  /** Epochs fence commits (they start above 0 and every claim raises them). */
  fences: boolean;
}

let rooms = 0;
const fresh = () => ({ party: "main", room: `suite-${process.pid}-${++rooms}` });

class Counter implements Party.Server {
  constructor(readonly room: Party.Room) {}
  async onRequest(): Promise<Response> {
    const n = ((await this.room.storage.get<number>("n")) ?? 0) + 1;
    await this.room.storage.put("n", n);
    return new Response(String(n));
  }
}

export function placementSuite(target: PlacementTarget): void {
  describe(`placement suite: ${target.name}`, () => {
    const withNode = async (fn: (p: Placement, storage: StorageOption) => Promise<void>) => {
      const node = await target.open();
      try {
        await fn(node.placement, node.storage);
      } finally {
        await node.close();
      }
    };

    test("an unowned room is placed here, with a numeric epoch", () =>
      withNode(async (p) => {
        const where = await p.locate(fresh());
        assert.equal(where.kind, "here");
        assert.ok(where.kind === "here" && Number.isInteger(where.epoch) && where.epoch >= 0);
        if (target.fences) assert.ok(where.kind === "here" && where.epoch > 0);
      }));

    test("concurrent locates of one room agree on one epoch", () =>
      withNode(async (p) => {
        const ref = fresh();
        const all = await Promise.all([p.locate(ref), p.locate(ref), p.locate(ref)]);
        assert.deepEqual(
          all.map((w) => w.kind),
          ["here", "here", "here"],
        );
        const epochs = new Set(all.map((w) => (w.kind === "here" ? w.epoch : -1)));
        assert.equal(epochs.size, 1);
      }));

    test("after release the room is placed here again, under a newer epoch when fencing", () =>
      withNode(async (p) => {
        const ref = fresh();
        const first = await p.locate(ref);
        await p.release(ref);
        const second = await p.locate(ref);
        assert.ok(first.kind === "here" && second.kind === "here");
        if (target.fences) assert.ok(second.epoch > first.epoch);
        else assert.equal(second.epoch, first.epoch);
      }));

    test("releasing a room never located does nothing", () =>
      withNode(async (p) => {
        await p.release(fresh());
        assert.equal((await p.locate(fresh())).kind, "here");
      }));

    test("a joined node serves", () =>
      withNode(async (p) => {
        assert.notEqual(p.serving?.(), false);
      }));

    test("a server on the placement serves a room and keeps its writes", () =>
      withNode(async (placement, storage) => {
        const ph = await serve({ parties: { main: Counter }, storage, placement });
        try {
          const url = `${ph.url}/parties/main/${fresh().room}`;
          assert.equal(await (await fetch(url)).text(), "1");
          assert.equal(await (await fetch(url)).text(), "2");
        } finally {
          await ph.close();
        }
      }));
  });
}
