// Rooms that come and go must leave nothing behind: 20,000 rooms each write to storage once, are
// evicted, and the heap returns to where it was (the storage provider used to keep ~1.6 KB per
// room it ever opened).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type * as Party from "../../src/core/api/types.js";
import { closeAll, serve, waitFor } from "../helpers.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

class Writer implements Party.Server {
  constructor(readonly room: Party.Room) {}
  async onRequest(): Promise<Response> {
    await this.room.storage.put("seen", this.room.id);
    return new Response("ok");
  }
}

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

describe("rooms that come and go", () => {
  const dir = mkdtempSync(join(tmpdir(), "ph-leak-"));
  after(async () => {
    await closeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it("leave the heap where it was once evicted", async () => {
    const ph = await serve({
      parties: { main: Writer },
      // SQLite keeps the data off the JS heap, so what stays on it is the platform's own.
      storage: { kind: "sqlite", path: join(dir, "leak.sqlite3") },
      limits: { idleTimeoutMs: 20 },
    });
    const touch = async (prefix: string, n: number) => {
      for (let i = 0; i < n; i += 500) {
        const batch = [];
        for (let j = i; j < Math.min(n, i + 500); j++) {
          batch.push(ph.parties.main!.get(`${prefix}-${j}`).fetch("/"));
        }
        for (const res of await Promise.all(batch)) assert.equal(await res.text(), "ok");
      }
      await waitFor(() => ph.inspect.counts().rooms === 0, 30_000, "every room evicted");
    };
    // Warm up (JIT, pools, maps grown to size), then measure a round of 20,000 fresh rooms.
    await touch("warm", 2000);
    const before = await settledHeap();
    await touch("room", 20_000);
    const afterHeap = await settledHeap();
    const perRoom = (afterHeap - before) / 20_000;
    assert.ok(perRoom < 100, `heap grew ${perRoom.toFixed(0)} B per evicted room`);
    // Storage is intact after the rooms went.
    assert.equal(await (await ph.inspect.storage("main", "room-7")).get("seen"), "room-7");
  });
});
