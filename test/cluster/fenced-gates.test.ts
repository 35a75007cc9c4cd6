// A fenced commit goes through the storage gates like any failed commit: the room's epoch moved on
// (another node took it over) while this node still ran it, so its next commit changes nothing,
// fails with PH_ERR_FENCED, the reply held behind it is discarded and the room is reset.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PostgresPlacement } from "../../src/cluster/postgres-placement.js";
import type * as Party from "../../src/core/api/types.js";
import { closeAll, connect, recordingLogger, serve, sleep } from "../helpers.js";
import { fileDatabase, whenPostgres } from "../storage/postgres-helpers.js";

const database = fileDatabase();
const placements = new Set<PostgresPlacement>();
after(async () => {
  await closeAll();
  await Promise.allSettled([...placements].map((p) => p.close()));
});

class Store implements Party.Server {
  constructor(readonly room: Party.Room) {}
  async onMessage(message: string | ArrayBuffer): Promise<void> {
    await this.room.storage.put(String(message), true);
    this.room.broadcast(`stored ${String(message)}`);
  }
}

await whenPostgres(() => {
  describe("a fenced commit in a live room", () => {
    it("discards the held reply, resets the room, and keeps the stale write out", async () => {
      const db = await database();
      const placement = new PostgresPlacement({ databaseUrl: db.url, leaseMs: 60_000 });
      placements.add(placement);
      const log = recordingLogger();
      const ph = await serve({
        parties: { main: Store },
        storage: { kind: "postgres", url: db.url },
        placement,
        log,
      });
      await placement.join(ph.url);
      const client = await connect(ph, "/parties/main/fenced");
      client.send("first");
      assert.equal(await client.nextText(), "stored first");

      // Another node's claim, as the database sees it: the epoch moves on.
      await db.sql`UPDATE partyhouse_rooms SET epoch = epoch + 1 WHERE room = 'fenced'`;
      client.send("stale");
      const closed = await client.closed;
      assert.equal(closed.code, 1011);
      await assert.rejects(
        client.next(100),
        /timed out/,
        "the reply to the stale write never left",
      );
      await sleep(50);
      assert.ok(
        log.errors.some(
          (e) => e.code === "PH_ERR_ROOM_RESET" && /fenced|no longer owned/.test(e.message),
        ),
      );
      const keys = await db.sql<{ key: Buffer }[]>`
        SELECT key FROM partyhouse_kv WHERE room = 'fenced' ORDER BY key`;
      assert.deepEqual(
        keys.map((k) => k.key.toString()),
        ["first"],
      );
      // The next client gets a fresh instance, claimed under a new epoch, and is served.
      const again = await connect(ph, "/parties/main/fenced");
      again.send("second");
      assert.equal(await again.nextText(), "stored second");
      const [row] = await db.sql<{ epoch: string }[]>`
        SELECT epoch FROM partyhouse_rooms WHERE room = 'fenced'`;
      assert.equal(Number(row!.epoch), 3);
    });
  });
});
