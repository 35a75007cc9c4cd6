/**
 * `partyhouse start` as cluster nodes: real CLI processes on one fresh PostgreSQL database,
 * configured only through PARTYHOUSE_DATABASE_URL, PARTYHOUSE_CLUSTER_SECRET and
 * PARTYHOUSE_LEASE_MS. One room's clients on different nodes share one instance; kill -9 of the
 * owner loses no acknowledged write and another node serves the room after the lease; SIGTERM
 * drains the owner (1012, released at once, no lease wait).
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import WebSocket from "ws";
import { killAll, runCli, startCli, tempProject } from "./cli-helpers.js";
import { CLUSTER_SECRET, nodeEnv } from "./cluster-env.js";
import { RoomPeer } from "./room-peer.js";
import type { Hello } from "./room-peer.js";
import type { RunningCli } from "./cli-helpers.js";
import { sleep, waitFor } from "../helpers.js";
import { createDatabase, dropDatabase, whenPostgres } from "../storage/postgres-helpers.js";
import type { TestDatabase } from "../storage/postgres-helpers.js";

// Each instance names itself (a fresh id per onStart) and its process; writes are acknowledged
// right after a put the room does not await (the output gate holds the ack until it is durable).
const PARTY = `
let starts = 0;
export default class Shared {
  constructor(room) { this.room = room; }
  onStart() { starts++; this.instance = crypto.randomUUID(); }
  hello() { return { type: "hello", instance: this.instance, starts, pid: process.pid }; }
  onConnect(conn) { conn.send(JSON.stringify(this.hello())); }
  onMessage(message, sender) {
    const text = String(message);
    if (text.startsWith("w:")) {
      void this.room.storage.put(text, 1);
      sender.send("ack:" + text.slice(2));
    } else {
      this.room.broadcast(JSON.stringify({ type: "say", text, instance: this.instance }));
    }
  }
  async onRequest() {
    const keys = [...(await this.room.storage.list()).keys()];
    return Response.json({ ...this.hello(), connections: [...this.room.getConnections()].length, keys });
  }
}
`;

function project(): string {
  const dir = tempProject("ph-cluster-cli-");
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src/server.js"), PARTY);
  writeFileSync(join(dir, "partykit.json"), JSON.stringify({ name: "t", main: "src/server.js" }));
  return dir;
}

const peers = new Set<RoomPeer>();
async function open(node: RunningCli, room: string): Promise<RoomPeer> {
  const peer = await RoomPeer.open(node.url, room);
  peers.add(peer);
  return peer;
}

/** Retries opening until a node serves the room again (the owner's lease, reconnect refusals). */
async function reopen(node: RunningCli, room: string, timeoutMs: number): Promise<RoomPeer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await open(node, room);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(50);
    }
  }
}

/** Reopens until the node with `pid` serves the room (a non-owner may still forward elsewhere). */
async function reopenServedBy(
  node: RunningCli,
  room: string,
  pid: number,
  timeoutMs: number,
): Promise<RoomPeer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const peer = await reopen(node, room, Math.max(0, deadline - Date.now()));
    const hello = await peer.hello().catch(() => undefined);
    if (hello?.pid === pid) return peer;
    peer.ws.terminate();
    if (Date.now() > deadline) throw new Error(`room ${room} never served by pid ${pid}`);
    await sleep(50);
  }
}

async function nodes(db: TestDatabase, dir: string, n: number, leaseMs: number) {
  const env = nodeEnv(db.url, leaseMs);
  return Promise.all(Array.from({ length: n }, () => startCli(["start"], dir, env)));
}

/** The per-test scaffolding: a fresh database, a project, and everything cleaned up. */
async function withCluster(body: (db: TestDatabase, dir: string) => Promise<void>): Promise<void> {
  const db = await createDatabase();
  const dir = project();
  try {
    await body(db, dir);
  } finally {
    for (const peer of peers) peer.ws.terminate();
    peers.clear();
    killAll();
    await db.sql.end({ timeout: 1 });
    await dropDatabase(db.name);
    rmSync(dir, { recursive: true, force: true });
  }
}

const byPid = (runs: RunningCli[], pid: number) => {
  const run = runs.find((r) => r.child.pid === pid);
  assert.ok(run, `pid ${pid} is one of the nodes`);
  return run;
};

test("a node URL without a cluster secret is refused with PH_ERR_CONFIG before anything starts", async () => {
  const dir = project();
  try {
    const env = {
      PORT: "0",
      PARTYHOUSE_DATABASE_URL: "postgres://u:secret@127.0.0.1:1/db",
      PARTYHOUSE_NODE_URL: "http://10.0.0.5:1999",
      PARTYHOUSE_CLUSTER_SECRET: "",
    };
    const { code, out } = await runCli(["start"], dir, env);
    assert.equal(code, 1, out);
    assert.match(out, /PH_ERR_CONFIG.*PARTYHOUSE_CLUSTER_SECRET/);
    const bad = await runCli(["start", "--node-url", "10.0.0.5:1999"], dir, {
      ...env,
      PARTYHOUSE_CLUSTER_SECRET: CLUSTER_SECRET,
    });
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /PH_ERR_CONFIG.*http:\/\/ or https:\/\//);
    const lease = await runCli(["start", "--lease-ms", "soon"], dir, env);
    assert.equal(lease.code, 1, lease.out);
    assert.match(lease.out, /--lease-ms must be milliseconds/);
  } finally {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  }
});

await whenPostgres(() => {
  test("three nodes configured by env: one instance per room, broadcast and HTTP across nodes", async () => {
    await withCluster(async (db, dir) => {
      const runs = await nodes(db, dir, 3, 10_000);
      const first = await open(runs[0]!, "shared");
      const firstHello = await first.hello();
      assert.equal(firstHello.pid, runs[0]!.child.pid, "the first node reached claims the room");
      const others = [await open(runs[1]!, "shared"), await open(runs[2]!, "shared")];
      for (const peer of others) {
        const hello = await peer.hello();
        assert.equal(hello.instance, firstHello.instance, "one instance across the nodes");
        assert.equal(hello.pid, runs[0]!.child.pid);
        assert.equal(hello.starts, 1, "onStart ran once in the owner");
      }
      others[1]!.ws.send("hi from node 2");
      for (const peer of [first, ...others]) {
        await waitFor(
          () => peer.messages.some((m) => m.includes("hi from node 2")),
          10_000,
          "the broadcast on every node",
        );
      }
      const res = await fetch(`${runs[1]!.url}/parties/main/shared`);
      assert.equal(res.status, 200);
      const state = (await res.json()) as Hello & { connections: number };
      assert.equal(
        state.instance,
        firstHello.instance,
        "HTTP through a non-owner reaches the owner",
      );
      assert.equal(state.connections, 3);
      // No other node started an instance of the room.
      for (const run of runs) assert.doesNotMatch(run.output(), /PH_ERR_(?!NOT_OWNER)\w+/);
      const owners = await db.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM partyhouse_rooms WHERE owner IS NOT NULL`;
      assert.equal(owners[0]!.n, 1);
    });
  });

  test("kill -9 of the owner under acknowledged writes: none lost, another node serves the room", async () => {
    await withCluster(async (db, dir) => {
      // A short lease keeps the test fast; PARTYHOUSE_TEST_LEASE_MS measures another one.
      const leaseMs = Number(process.env["PARTYHOUSE_TEST_LEASE_MS"] ?? 2000);
      const runs = await nodes(db, dir, 3, leaseMs);
      // Claim through node 0, write through node 1 (forwarded), so the writer's node survives.
      const owner = await open(runs[0]!, "crash");
      const ownerPid = (await owner.hello()).pid;
      const writer = await open(runs[1]!, "crash");
      await writer.hello();
      const acked = new Set<string>();
      let seq = 0;
      const stream = (peer: RoomPeer) => {
        const timer = setInterval(() => {
          if (peer.ws.readyState === WebSocket.OPEN) peer.ws.send(`w:${seq++}`);
        }, 2);
        peer.ws.on("message", (d) => {
          const text = String(d);
          if (text.startsWith("ack:")) acked.add(`w:${text.slice(4)}`);
        });
        void peer.closed.then(() => clearInterval(timer));
        return timer;
      };
      const firstTimer = stream(writer);
      await waitFor(() => acked.size >= 300, 30_000, "300 acknowledged writes");
      byPid(runs, ownerPid).child.kill("SIGKILL");
      const killedAt = Date.now();
      await writer.closed;
      clearInterval(firstTimer);
      const ackedBefore = new Set(acked);

      const again = await reopen(runs[1]!, "crash", 30_000);
      const hello = await again.hello();
      assert.notEqual(hello.pid, ownerPid, "another node serves the room");
      const before = acked.size;
      const timer = stream(again);
      await waitFor(() => acked.size > before, 30_000, "a new acknowledged write");
      const failoverMs = Date.now() - killedAt;
      clearInterval(timer);
      console.log(
        `# kill -9 failover (lease ${leaseMs} ms): ${failoverMs} ms from kill to the first new ack; ${ackedBefore.size} writes acknowledged before`,
      );
      const res = await fetch(`${runs[2]!.url}/parties/main/crash`);
      const stored = new Set(((await res.json()) as { keys: string[] }).keys);
      const lost = [...ackedBefore].filter((k) => !stored.has(k));
      assert.deepEqual(lost, [], "no acknowledged write is lost");
    });
  });

  test("SIGTERM drains the owner: 1012, reconnect through another node, re-claimed at once", async () => {
    await withCluster(async (db, dir) => {
      // A lease far longer than the test waits: a takeover that waited for it would time out.
      const runs = await nodes(db, dir, 2, 120_000);
      const direct = await open(runs[0]!, "drain");
      const ownerPid = (await direct.hello()).pid;
      const forwarded = await open(runs[1]!, "drain");
      await forwarded.hello();
      direct.ws.send("w:before-drain");
      await waitFor(() => direct.messages.includes("ack:before-drain"), 10_000, "ack");
      const owner = byPid(runs, ownerPid);
      const termAt = Date.now();
      owner.child.kill("SIGTERM");
      assert.equal(await direct.closed, 1012, "the owner's own client gets 1012");
      assert.equal(await forwarded.closed, 1012, "a client forwarded to it gets 1012 too");
      const survivor = runs.find((r) => r !== owner)!;
      const again = await reopen(survivor, "drain", 20_000);
      const hello = await again.hello();
      const reclaimMs = Date.now() - termAt;
      assert.equal(hello.pid, survivor.child.pid);
      console.log(`# SIGTERM drain: served by the other node ${reclaimMs} ms after SIGTERM`);
      assert.equal((await owner.exited).code, 0, "a drained node exits 0");
      const res = await fetch(`${survivor.url}/parties/main/drain`);
      const { keys } = (await res.json()) as { keys: string[] };
      assert.ok(keys.includes("w:before-drain"));
      const dead = await db.sql<{ status: string }[]>`
        SELECT status FROM partyhouse_nodes WHERE url = ${owner.url}`;
      assert.deepEqual(
        dead.map((r) => r.status),
        ["dead"],
      );
    });
  });
  test("a rolling restart of every node under acknowledged writes loses none", async () => {
    await withCluster(async (db, dir) => {
      // A lease longer than the test: every hand-over must come from a drain's release.
      const live = await nodes(db, dir, 3, 120_000);
      const acked = new Set<string>();
      let seq = 0;
      let done = false;
      let drains = 0;
      const writing = (async () => {
        while (!done) {
          const peer = await reopen(live.at(-1)!, "rolling", 30_000);
          const timer = setInterval(() => {
            if (peer.ws.readyState === WebSocket.OPEN) peer.ws.send(`w:${seq++}`);
          }, 2);
          peer.ws.on("message", (d) => {
            const text = String(d);
            if (text.startsWith("ack:")) acked.add(`w:${text.slice(4)}`);
          });
          const code = await peer.closed;
          clearInterval(timer);
          if (!done) {
            assert.equal(code, 1012, "a drained owner closes with 1012");
            drains++;
          }
        }
      })();
      for (const old of [...live]) {
        const before = acked.size;
        await waitFor(() => acked.size >= before + 100, 30_000, "100 more acknowledged writes");
        live.push(await startCli(["start"], dir, { ...nodeEnv(db.url, 120_000) }));
        live.splice(live.indexOf(old), 1);
        old.child.kill("SIGTERM");
        assert.equal((await old.exited).code, 0, old.output());
      }
      const before = acked.size;
      await waitFor(() => acked.size >= before + 100, 30_000, "writes after the restart");
      done = true;
      for (const peer of peers) peer.ws.close();
      await writing;
      assert.ok(drains >= 1, "the writer lived through at least one drain of its owner");
      const res = await fetch(`${live[0]!.url}/parties/main/rolling`);
      const stored = new Set(((await res.json()) as { keys: string[] }).keys);
      const lost = [...acked].filter((k) => !stored.has(k));
      console.log(
        `# rolling restart of 3 nodes: ${acked.size} acknowledged, ${lost.length} lost, ${drains} owner drains seen`,
      );
      assert.deepEqual(lost, [], "no acknowledged write is lost");
    });
  });
  test("SIGSTOP of the owner past its lease, then SIGCONT: it acknowledges and writes nothing more", async () => {
    await withCluster(async (db, dir) => {
      const runs = await nodes(db, dir, 2, 1000);
      const stale = await open(runs[0]!, "paused");
      const ownerPid = (await stale.hello()).pid;
      const owner = byPid(runs, ownerPid);
      const survivor = runs.find((r) => r !== owner)!;
      let seq = 0;
      const staleAcks: string[] = [];
      stale.ws.on("message", (d) => {
        if (String(d).startsWith("ack:")) staleAcks.push(`w:${String(d).slice(4)}`);
      });
      const timer = setInterval(() => {
        if (stale.ws.readyState === WebSocket.OPEN) stale.ws.send(`w:stale-${seq++}`);
      }, 5);
      await waitFor(() => staleAcks.length >= 50, 30_000, "acknowledged writes before the pause");
      owner.child.kill("SIGSTOP");
      const seqAtStop = seq;
      const fresh = await reopenServedBy(survivor, "paused", survivor.child.pid!, 30_000).catch(
        (e: unknown) => {
          throw new Error(`${String(e)}; the survivor logged:\n${survivor.output().slice(-3000)}`);
        },
      );
      fresh.ws.send("w:after-takeover");
      await waitFor(() => fresh.messages.includes("ack:after-takeover"), 10_000, "new owner ack");
      const ackedAtTakeover = staleAcks.length;
      owner.child.kill("SIGCONT");
      const code = await stale.closed;
      clearInterval(timer);
      assert.equal(code, 1012, "the resumed owner closes its stale sockets with 1012");
      assert.equal(staleAcks.length, ackedAtTakeover, "the resumed owner acknowledges nothing");
      const res = await fetch(`${survivor.url}/parties/main/paused`);
      const stored = new Set(((await res.json()) as { keys: string[] }).keys);
      assert.deepEqual(
        staleAcks.filter((k) => !stored.has(k)),
        [],
        "every acknowledged write is stored",
      );
      // Writes sent after the SIGSTOP reach the owner only once it resumed, past its lease.
      const resumedWrites = [...stored].filter(
        (k) => k.startsWith("w:stale-") && Number(k.slice("w:stale-".length)) >= seqAtStop,
      );
      assert.deepEqual(resumedWrites, [], "no write of the resumed owner landed");
      assert.ok(seq > seqAtStop, "the client kept writing during the pause");
    });
  });
});
