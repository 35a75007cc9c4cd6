/**
 * A real PostgreSQL outage while a room writes: an admin connection refuses new connections to
 * the room's database (ALLOW_CONNECTIONS false binds superusers too) and kills the driver's
 * backends with pg_terminate_backend, then lets connections in again.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { PartyhouseError } from "../../src/core/errors.js";
import type { Logger } from "../../src/core/log.js";
import { startPartyhouse } from "../../src/runtime/start.js";
import { openStorageProvider } from "../../src/storage/provider.js";
import { adminSql, createDatabase, dropDatabase, whenPostgres } from "./postgres-helpers.js";

const ref = { party: "main", room: "outage" };

/** Polls `condition` every 20 ms; fails after `ms` with `what`. */
async function until(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

await whenPostgres(() => {
  // Bursts of 10 are direct commits; bursts of 200 are logged ones (one log row each, applied to
  // kv afterwards), whose applies may also fail in the outage and be left for recovery.
  for (const burstSize of [10, 200])
    test(`postgres outage, bursts of ${burstSize}: in-flight writes fail with PH_ERR_STORAGE_IO, acknowledged ones survive, writes resume`, async () => {
      const db = await createDatabase();
      await db.sql.end();
      const admin = adminSql();
      const allow = (on: boolean) =>
        admin.unsafe(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS ${on ? "true" : "false"}`);
      try {
        const provider = await openStorageProvider({
          kind: "postgres",
          url: db.url.replace("postgres@", "postgres:hunter2@"),
          maxConnections: 4,
          connectTimeoutSeconds: 5,
        });
        const commitErrors: PartyhouseError[] = [];
        const storage = provider.open(ref, {
          onAlarmChange() {},
          onCommitError: (e: PartyhouseError) => commitErrors.push(e),
        } as { onAlarmChange(): void });

        // The room writes in bursts of 10 unawaited puts, as a busy party does. A put resolves
        // from the cache; sync() is what says the burst is durable (acknowledged) or failed.
        const acked: number[] = [];
        const failures: unknown[] = [];
        let stop = false;
        const writer = (async () => {
          for (let i = 0; !stop;) {
            const burst: number[] = [];
            for (let j = 0; j < burstSize; j++) {
              const n = i++;
              burst.push(n);
              void storage.put(`k${n}`, { n });
            }
            await storage.sync().then(
              () => void acked.push(...burst),
              (e: unknown) => void failures.push(e),
            );
            // Once failing, do not spin: the database refuses connections at once.
            if (failures.length > 0) await new Promise((r) => setTimeout(r, 5));
          }
        })();

        await until(() => acked.length >= 300, "300 acknowledged puts before the outage");
        await allow(false);
        const killed = await admin<{ pid: number }[]>`
        SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity
        WHERE datname = ${db.name} AND pid <> pg_backend_pid()`;
        assert.ok(killed.length >= 1, "the driver had backends to kill");
        await until(() => failures.length >= 3, "writes failing during the outage");
        const ackedInOutage = acked.length;

        for (const e of failures) {
          assert.ok(e instanceof PartyhouseError, `a coded error, got ${String(e)}`);
          assert.equal(e.code, "PH_ERR_STORAGE_IO");
          assert.match(
            e.message,
            /^PostgreSQL (commit|setup .*) failed on postgres:\/\/postgres:\*\*\*@/,
          );
          assert.doesNotMatch(e.message, /hunter2/);
        }
        assert.ok(commitErrors.length >= 1, "the room heard of the failed commit");

        await allow(true);
        await until(() => acked.length >= ackedInOutage + 300, "writes succeeding again");
        stop = true;
        await writer;
        await provider.close();

        // Every acknowledged put is there, with its value, for a fresh driver (which applies what
        // the outage left in the log first).
        const reopened = await openStorageProvider({ kind: "postgres", url: db.url });
        const again = reopened.open(ref, { onAlarmChange() {} });
        const stored = new Set((await again.list()).keys());
        const missing = acked.filter((n) => !stored.has(`k${n}`));
        assert.deepEqual(missing, [], `${missing.length} acknowledged puts were lost`);
        const last = acked.at(-1)!;
        assert.deepEqual(await again.get(`k${last}`), { n: last });
        await reopened.close();
      } finally {
        await allow(true).catch(() => {});
        await admin.end();
        await dropDatabase(db.name);
      }
    });
  test("postgres outage under a real server: acknowledged replies are durable, the room writes again after", async () => {
    const db = await createDatabase();
    await db.sql.end();
    const admin = adminSql();
    const allow = (on: boolean) =>
      admin.unsafe(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS ${on ? "true" : "false"}`);
    const logged: string[] = [];
    const log: Logger = {
      error: (code, message) => void logged.push(`${code} ${message}`),
      warn() {},
      info() {},
      debug() {},
    };
    // The party writes without awaiting and acknowledges at once: the output gate holds the
    // acknowledgement until the write is durable, and discards it if the commit fails.
    class Writer {
      constructor(readonly room: { storage: { put(k: string, v: unknown): Promise<void> } }) {}
      onMessage(message: string, sender: { send(m: string): void }) {
        void this.room.storage.put(`k${message}`, Number(message));
        sender.send(`ok ${message}`);
      }
    }
    const ph = await startPartyhouse({
      parties: { main: Writer },
      storage: { kind: "postgres", url: db.url },
      log,
    });
    const acked = new Set<number>();
    let stop = false;
    let sent = 0;
    // One client sending numbered messages; it reconnects if the room closes it.
    const client = (async () => {
      while (!stop) {
        const ws = new WebSocket(`${ph.url.replace("http", "ws")}/parties/main/outage`);
        await new Promise((resolve, reject) => {
          ws.once("open", resolve);
          ws.once("error", reject);
        });
        ws.on("message", (data: Buffer) => {
          const m = /^ok (\d+)$/.exec(data.toString());
          if (m) acked.add(Number(m[1]));
        });
        const closed = new Promise((resolve) => ws.once("close", resolve));
        // Paced below what one room commits per second, so no flow control is needed.
        while (!stop && ws.readyState === WebSocket.OPEN) {
          ws.send(String(sent++));
          await new Promise((r) => setTimeout(r, 2));
        }
        ws.close();
        await closed;
      }
    })();
    try {
      await until(() => acked.size >= 200, "200 acknowledged messages before the outage");
      await allow(false);
      await admin`
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = ${db.name} AND pid <> pg_backend_pid()`;
      await until(
        () => logged.some((l) => /PostgreSQL (commit|setup .*) failed/.test(l)),
        "a logged storage failure",
      );
      // The room was reset: what it held for the failed commit was discarded, its socket closed.
      await until(() => logged.some((l) => l.startsWith("PH_ERR_ROOM_RESET")), "a room reset");
      const before = acked.size;
      await allow(true);
      await until(
        () => acked.size >= before + 200,
        "acknowledgements after the database is back",
      ).catch((e: unknown) => {
        throw new Error(
          `${String(e)}; sent ${sent}, acked ${acked.size}; log: ${logged.slice(-5).join(" | ")}`,
        );
      });
      stop = true;
      await client;
      await ph.close();

      const check = adminSql(db.url);
      try {
        const rows = await check<{ key: Buffer }[]>`
          SELECT key FROM partyhouse_kv WHERE party = 'main' AND room = 'outage'`;
        const stored = new Set(rows.map((r) => r.key.toString("utf8")));
        const lost = [...acked].filter((n) => !stored.has(`k${n}`));
        assert.deepEqual(lost, [], `${lost.length} acknowledged writes were lost`);
      } finally {
        await check.end();
      }
    } finally {
      stop = true;
      await client.catch(() => {});
      await ph.close().catch(() => {});
      await allow(true).catch(() => {});
      await admin.end();
      await dropDatabase(db.name);
    }
  });
});
