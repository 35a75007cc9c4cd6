// A node cut off from the cluster database: its renewals fail, so it stops serving its rooms
// (sockets closed with 1012) and refuses new ones with 503 before its lease can be claimed; once
// the database answers again it rejoins under a new incarnation and serves again.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PostgresPlacement } from "../../src/cluster/postgres-placement.js";
import type * as Party from "../../src/core/api/types.js";
import { connect, serve } from "../helpers.js";
import {
  adminSql,
  createDatabase,
  dropDatabase,
  whenPostgres,
} from "../storage/postgres-helpers.js";

class Store implements Party.Server {
  constructor(readonly room: Party.Room) {}
  async onMessage(message: string | ArrayBuffer): Promise<void> {
    await this.room.storage.put(String(message), true);
    this.room.broadcast(`stored ${String(message)}`);
  }
  onRequest(): Response {
    return new Response("served");
  }
}

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

await whenPostgres(() => {
  describe("a node that loses the cluster database", () => {
    it("self-fences (1012, 503) and rejoins when the database is back", async () => {
      const db = await createDatabase();
      const admin = adminSql();
      const allow = (on: boolean) =>
        admin.unsafe(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS ${on ? "true" : "false"}`);
      const placement = new PostgresPlacement({ databaseUrl: db.url, leaseMs: 1000 });
      let ph: Awaited<ReturnType<typeof serve>> | undefined;
      try {
        ph = await serve({
          parties: { main: Store },
          storage: { kind: "postgres", url: db.url },
          placement,
        });
        await placement.join(ph.url);
        const incarnation = placement.membership.incarnation!;
        const client = await connect(ph, "/parties/main/cut");
        client.send("before");
        assert.equal(await client.nextText(), "stored before");

        await allow(false);
        await admin`
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = ${db.name} AND pid <> pg_backend_pid()`;
        const closed = await client.closed;
        assert.equal(closed.code, 1012);
        assert.equal(placement.serving(), false);
        const refused = await fetch(`${ph.url}/parties/main/other`);
        assert.equal(refused.status, 503);
        assert.match(await refused.text(), /lease|cluster/);

        await allow(true);
        await until(() => placement.serving(), "the node rejoins");
        assert.ok(placement.membership.incarnation! > incarnation, "a new incarnation");
        const served = await fetch(`${ph.url}/parties/main/cut`);
        assert.equal(await served.text(), "served");
      } finally {
        await allow(true).catch(() => {});
        await ph?.close().catch(() => {});
        await placement.close().catch(() => {});
        await admin.end({ timeout: 1 }).catch(() => {});
        await dropDatabase(db.name);
      }
    });
  });
});
