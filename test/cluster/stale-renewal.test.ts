// A renewal that hangs through a partition and answers only after the node has rejoined under a
// new incarnation must not fence the rejoined node. The node's cluster connections go through a
// relay that stalls them (traffic stops, nothing closes); new connections are let through first,
// so the node finds its lease gone and rejoins, and only then is the hung renewal delivered.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import WebSocket from "ws";
import { PostgresPlacement } from "../../src/cluster/postgres-placement.js";
import type * as Party from "../../src/core/api/types.js";
import type { Logger } from "../../src/core/log.js";
import { connect, serve, sleep, waitFor } from "../helpers.js";
import {
  ADMIN_URL,
  createDatabase,
  dropDatabase,
  whenPostgres,
} from "../storage/postgres-helpers.js";
import { TcpRelay } from "./tcp-relay.js";

class Hello implements Party.Server {
  constructor(readonly room: Party.Room) {}
  onConnect(conn: Party.Connection): void {
    conn.send("hello");
  }
  onRequest(): Response {
    return new Response("served");
  }
}

const LEASE_MS = 1000;

await whenPostgres(() => {
  describe("a renewal answered after the rejoin", () => {
    it("leaves the rejoined node serving, at incarnation 2", async () => {
      const db = await createDatabase();
      const admin = new URL(ADMIN_URL);
      const relay = await TcpRelay.listen("127.0.0.1", {
        host: admin.hostname,
        port: Number(admin.port || 5432),
      });
      const viaRelay = new URL(db.url);
      viaRelay.host = `127.0.0.1:${relay.port}`;
      const rejoins: unknown[] = [];
      const log: Logger = {
        error() {},
        warn() {},
        info(message, fields) {
          if (message.includes("rejoined")) rejoins.push(fields?.["incarnation"]);
        },
        debug() {},
      };
      // Only the cluster's own connections go through the relay; the rooms' storage does not.
      const placement = new PostgresPlacement({
        databaseUrl: viaRelay.toString(),
        leaseMs: LEASE_MS,
        log,
      });
      let ph: Awaited<ReturnType<typeof serve>> | undefined;
      const sockets: WebSocket[] = [];
      try {
        ph = await serve({
          parties: { main: Hello },
          storage: { kind: "postgres", url: db.url },
          placement,
        });
        await placement.join(ph.url);
        assert.equal(placement.membership.incarnation, 1);
        const before = await connect(ph, "/parties/main/r");
        sockets.push(before.ws);
        assert.equal(await before.nextText(), "hello");
        await sleep(LEASE_MS / 2); // a few renewals on the pool's connection

        const row = async () =>
          (
            await db.sql<{ incarnation: number; expired: boolean }[]>`
              SELECT incarnation::int AS incarnation, lease_expires < clock_timestamp() AS expired
              FROM partyhouse_nodes WHERE id = ${placement.nodeId}`
          )[0]!;
        relay.stall();
        assert.equal((await before.closed).code, 1012, "the cut-off node fences itself");
        await waitFor(async () => (await row()).expired, 10_000, "the lease to lapse");
        // The partition heals for new connections only: the renewal in flight stays hung.
        relay.flowNew();
        await waitFor(
          () => placement.membership.incarnation === 2 && placement.serving(),
          10_000,
          "the node to rejoin",
        );
        const after = await connect(ph, "/parties/main/r");
        sockets.push(after.ws);
        assert.equal(await after.nextText(), "hello");

        const late = relay.releaseStalled();
        assert.ok(late > 0, "a renewal sent before the stall was still held (test precondition)");
        // The stale answer comes back within milliseconds; two leases leave room for a wrong
        // fence, a rejoin and its renewals to show.
        await sleep(2 * LEASE_MS);
        assert.equal((await row()).incarnation, 2, "no second rejoin in the database");
        assert.equal(placement.membership.incarnation, 2);
        assert.equal(placement.serving(), true, "the rejoined node is not fenced again");
        assert.equal(after.ws.readyState, WebSocket.OPEN, "its new client was not closed");
        assert.deepEqual(rejoins, [2], "one rejoin, to incarnation 2");
        const res = await fetch(`${ph.url}/parties/main/r`);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), "served");
      } finally {
        for (const ws of sockets) ws.terminate();
        await ph?.close().catch(() => {});
        await placement.close().catch(() => {});
        await relay.close();
        await db.sql.end({ timeout: 1 }).catch(() => {});
        await dropDatabase(db.name);
      }
    });
  });
});
