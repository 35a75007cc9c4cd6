/**
 * `partyhouse start --workers N`: real worker processes behind one port, on the shared SQLite
 * file (no database) and on PostgreSQL. One instance per room whatever worker a client lands on;
 * kill -9 of the owning worker loses no acknowledged write and its rooms are served again well
 * before the lease (the supervisor frees them at once); a worker frozen by a busy loop is replaced
 * with the room named; a worker over --max-memory is drained and replaced.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import WebSocket from "ws";
import { killAll, startCli, tempProject } from "./cli-helpers.js";
import { RoomPeer } from "./room-peer.js";
import type { RunningCli } from "./cli-helpers.js";
import { sleep, waitFor } from "../helpers.js";
import { createDatabase, dropDatabase } from "../storage/postgres-helpers.js";

const PARTY = `
const hold = [];
export default class S {
  constructor(room) { this.room = room; }
  onStart() { this.instance = crypto.randomUUID(); }
  onConnect(conn) { conn.send(JSON.stringify({ type: "hello", pid: process.pid, instance: this.instance })); }
  onMessage(message, sender) {
    const text = String(message);
    if (text === "spin") { for (;;) {} }
    if (text === "grow") { for (let i = 0; i < 40; i++) hold.push(Buffer.alloc(8 << 20, 1)); sender.send("grown"); return; }
    if (text.startsWith("w:")) { void this.room.storage.put(text, 1); sender.send("ack:" + text.slice(2)); return; }
    this.room.broadcast(JSON.stringify({ type: "say", text, pid: process.pid }));
  }
  async onRequest() {
    const keys = [...(await this.room.storage.list()).keys()];
    return Response.json({ pid: process.pid, instance: this.instance, keys });
  }
}
`;

/** A port free now: with one worker, a restart must listen on the same port again (not 0). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const peers = new Set<RoomPeer>();
async function open(url: string, room: string): Promise<RoomPeer> {
  const peer = await RoomPeer.open(url, room);
  peers.add(peer);
  return peer;
}

async function reopen(url: string, room: string, timeoutMs: number): Promise<RoomPeer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const peer = await open(url, room);
      await peer.hello();
      return peer;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(25);
    }
  }
}

/** The worker pids the supervisor reported ready, in order. */
const workerPids = (run: RunningCli): number[] =>
  [...run.output().matchAll(/worker \d+ ready \(pid (\d+)\)/g)].map((m) => Number(m[1]));

async function withWorkers(
  args: string[],
  env: Record<string, string>,
  body: (run: RunningCli, dir: string) => Promise<void>,
): Promise<void> {
  const dir = tempProject("ph-workers-");
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src/server.js"), PARTY);
  writeFileSync(join(dir, "partykit.json"), JSON.stringify({ name: "t", main: "src/server.js" }));
  let run: RunningCli | undefined;
  try {
    run = await startCli(["start", ...args], dir, { PORT: "0", ...env });
    await body(run, dir);
  } finally {
    for (const peer of peers) peer.ws.terminate();
    peers.clear();
    // The supervisor first, then any worker it started (they also drain when it disappears).
    const pids = run ? workerPids(run) : [];
    killAll();
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function oneInstanceAndFastRehome(run: RunningCli): Promise<void> {
  await run.waitForOutput(/with 2 workers/);
  const [a, b] = workerPids(run);
  assert.ok(a && b && a !== b, "two worker processes");

  // Rooms opened over one port land on both workers (node:cluster hands out connections in turn).
  const owners = new Set<number>();
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${run.url}/parties/main/spread-${i}`);
    owners.add(((await res.json()) as { pid: number }).pid);
  }
  assert.equal(owners.size, 2, "rooms are owned by both workers");

  // Clients of one room arrive through whichever worker: one instance, broadcast reaches all.
  const clients = await Promise.all([0, 1, 2, 3].map(() => reopen(run.url, "shared", 5000)));
  const hellos = await Promise.all(clients.map((c) => c.hello()));
  assert.equal(new Set(hellos.map((h) => h.instance)).size, 1, "one instance of the room");
  clients[0]!.ws.send("hi all");
  await waitFor(
    () => clients.every((c) => c.messages.some((m) => m.includes('"hi all"'))),
    5000,
    "broadcast reaches every client",
  );
  const owner = hellos[0]!.pid;

  // kill -9 of the owner under a stream of acknowledged writes.
  const writer = clients[1]!;
  const acked = new Set<string>();
  writer.ws.on("message", (d) => {
    const t = String(d);
    if (t.startsWith("ack:")) acked.add(`w:${t.slice(4)}`);
  });
  let n = 0;
  const pump = setInterval(() => {
    for (let i = 0; i < 20 && writer.ws.readyState === WebSocket.OPEN; i++)
      writer.ws.send(`w:${n++}`);
  }, 5);
  await waitFor(() => acked.size > 200, 10_000, "acknowledged writes");
  process.kill(owner, "SIGKILL");
  const killedAt = Date.now();
  clearInterval(pump);
  // Served again by a live worker, well before the 10 s lease could run out.
  const back = await reopen(run.url, "shared", 8000);
  const rehomeMs = Date.now() - killedAt;
  const hello = await back.hello();
  assert.notEqual(hello.pid, owner);
  assert.ok(rehomeMs < 5000, `re-homed in ${rehomeMs} ms, without waiting for the lease`);
  const res = await fetch(`${run.url}/parties/main/shared`);
  const keys = new Set(((await res.json()) as { keys: string[] }).keys);
  const lost = [...acked].filter((k) => !keys.has(k));
  assert.deepEqual(lost, [], `acknowledged writes lost after kill -9 (${acked.size} acked)`);
  // The slot gets a new worker.
  await waitFor(() => workerPids(run).length >= 3, 15_000, "a new worker in the dead one's slot");
  console.log(`workers: re-homed in ${rehomeMs} ms after kill -9; ${acked.size} acked, 0 lost`);
}

test("--workers 2 on the SQLite file: one instance per room, kill -9 re-homed at once", async () => {
  await withWorkers(["--workers", "2"], {}, oneInstanceAndFastRehome);
});

test("--workers 2 on PostgreSQL: each worker a node; kill -9 re-homed at once", async () => {
  const db = await createDatabase();
  try {
    await withWorkers(
      ["--workers", "2"],
      { PARTYHOUSE_DATABASE_URL: db.url },
      oneInstanceAndFastRehome,
    );
  } finally {
    await db.sql.end({ timeout: 1 });
    await dropDatabase(db.name);
  }
});

test("a worker stuck in a busy loop is replaced, with the room named as the cause", async () => {
  await withWorkers(["--workers", "2"], { PARTYHOUSE_STUCK_MS: "1000" }, async (run) => {
    await run.waitForOutput(/with 2 workers/);
    const victim = await reopen(run.url, "spinner", 5000);
    const stuckPid = (await victim.hello()).pid;
    victim.ws.send("spin");
    const m = await run.waitForOutput(
      /"code":"PH_ERR_WORKER_STUCK".*?"party":"main","room":"spinner"/,
      10_000,
    );
    assert.ok(m);
    await run.waitForOutput(/answered no heartbeat/, 10_000);
    // Other rooms are served meanwhile and after; the frozen process is gone.
    const other = await reopen(run.url, "bystander", 8000);
    assert.notEqual((await other.hello()).pid, stuckPid);
    await waitFor(() => workerPids(run).length >= 3, 15_000, "a replacement worker");
    assert.throws(() => process.kill(stuckPid, 0), "the stuck worker was killed");
    const again = await reopen(run.url, "spinner", 8000);
    assert.notEqual((await again.hello()).pid, stuckPid);
  });
});

test("a worker over --max-memory is drained (1012) and replaced", async () => {
  const port = String(await freePort());
  await withWorkers(["--workers", "1", "--max-memory", "256mb"], { PORT: port }, async (run) => {
    await run.waitForOutput(/with 1 workers/);
    const peer = await reopen(run.url, "hog", 5000);
    const pid = (await peer.hello()).pid;
    const closed = new Promise<number>((r) => peer.ws.once("close", (code) => r(code)));
    peer.ws.send("grow");
    await run.waitForOutput(/"code":"PH_ERR_WORKER_MEMORY"/, 15_000);
    assert.equal(await closed, 1012);
    await waitFor(() => workerPids(run).length >= 2, 15_000, "a replacement worker");
    const again = await reopen(run.url, "hog", 8000);
    assert.notEqual((await again.hello()).pid, pid);
  });
});

test("--workers with --no-persist and more than one worker is refused with PH_ERR_CONFIG", async () => {
  const dir = tempProject("ph-workers-bad-");
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src/server.js"), PARTY);
  writeFileSync(join(dir, "partykit.json"), JSON.stringify({ name: "t", main: "src/server.js" }));
  try {
    await assert.rejects(
      startCli(["start", "--workers", "2", "--no-persist"], dir, { PORT: "0" }),
      /PH_ERR_CONFIG[\s\S]*share/,
    );
  } finally {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  }
});
