/**
 * examples/socket.io-chat on two `partyhouse start` cluster nodes (one fresh PostgreSQL database,
 * configured only by env): a polling-only client on the node that owns the chat and a
 * websocket-only client on the other (forwarded, no sticky sessions) share one Socket.IO server.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { test } from "node:test";
import { copyExample, killAll, startCli } from "./cli-helpers.js";
import { client, disconnectClients, next } from "../socketio/sio-helpers.js";
import { createDatabase, dropDatabase, whenPostgres } from "../storage/postgres-helpers.js";

await whenPostgres(() => {
  test("Socket.IO, both transports, through a non-owner node share one room", async () => {
    const db = await createDatabase();
    const dir = copyExample("socket.io-chat");
    try {
      const env = {
        PORT: "0",
        PARTYHOUSE_DATABASE_URL: db.url,
        PARTYHOUSE_CLUSTER_SECRET: "test-cluster-secret-socketio",
      };
      const [owner, other] = await Promise.all([
        startCli(["start"], dir, env),
        startCli(["start"], dir, env),
      ]);
      const ada = client(owner!.url, { transports: ["polling"], query: { partyId: "c1" } });
      await next(ada, "history");
      const bob = client(other!.url, { transports: ["websocket"], query: { partyId: "c1" } });
      await next(bob, "history");
      const adaLogin = next(ada, "login");
      ada.emit("add user", "ada");
      assert.deepEqual(await adaLogin, [{ numUsers: 1 }]);
      const joined = next(ada, "user joined");
      bob.emit("add user", "bob");
      assert.deepEqual(await joined, [{ username: "bob", numUsers: 2 }], "one server for both");
      const toBob = next<[{ message: string }]>(bob, "new message");
      ada.emit("new message", "hi bob, I poll on the owner");
      assert.equal((await toBob)[0].message, "hi bob, I poll on the owner");
      const toAda = next<[{ message: string }]>(ada, "new message");
      bob.emit("new message", "hi ada, I websocket through the other node");
      assert.equal((await toAda)[0].message, "hi ada, I websocket through the other node");
      assert.equal(bob.io.engine.transport.name, "websocket");
      const owners = await db.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM partyhouse_rooms WHERE owner IS NOT NULL`;
      assert.equal(owners[0]!.n, 1, "one owner for the chat");
    } finally {
      disconnectClients();
      killAll();
      await db.sql.end({ timeout: 1 });
      await dropDatabase(db.name);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
