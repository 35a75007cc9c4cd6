// Alarms live with the room, on two nodes as real processes on one PostgreSQL database (lease
// 1,000 ms): a live owner's alarm is fired by the owner only; an alarm whose owner was killed
// (`kill -9`) fires on the surviving node with no request arriving, its storage effect applied
// exactly once.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { sleep, waitFor } from "../helpers.js";
import { fileDatabase, whenPostgres } from "../storage/postgres-helpers.js";

const LEASE_MS = 1000;
const fixture = new URL("./fixtures/alarm-node.ts", import.meta.url).pathname;
const database = fileDatabase();
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

interface Node {
  readonly child: ChildProcess;
  readonly url: string;
  readonly nodeId: string;
  /** What the node logged (passed on to this process's stderr too). */
  readonly logged: string[];
}

async function startNode(nodeId: string): Promise<Node> {
  const db = await database();
  const child = spawn(process.execPath, ["--import", "tsx", fixture], {
    env: {
      ...process.env,
      TEST_DATABASE_URL: db.url,
      TEST_NODE_ID: nodeId,
      TEST_LEASE_MS: String(LEASE_MS),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const logged: string[] = [];
  child.stderr!.on("data", (chunk: Buffer) => {
    logged.push(chunk.toString());
    process.stderr.write(chunk);
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`node ${nodeId} exited with ${code}`)));
  });
  const { url } = JSON.parse(first) as { url: string };
  return { child, url, nodeId, logged };
}

/** Sets the room's alarm `delay` ms from now through `node`; answers the serving node's id. */
async function setAlarm(node: Node, room: string, delay: number): Promise<string> {
  const res = await fetch(`${node.url}/parties/main/${room}?in=${delay}`, { method: "POST" });
  assert.equal(res.status, 200, await res.clone().text());
  return res.text();
}

/** The `fired-<node>-<retryCount>-<count>` keys onAlarm wrote, read from the database. */
async function firedKeys(room: string): Promise<string[]> {
  const db = await database();
  const rows = await db.sql<{ key: Buffer }[]>`
    SELECT key FROM partyhouse_kv WHERE party = 'main' AND room = ${room}`;
  return rows.map((r) => r.key.toString()).filter((k) => k.startsWith("fired-"));
}

async function alarmRows(room: string): Promise<number> {
  const db = await database();
  const [row] = await db.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM partyhouse_alarms WHERE party = 'main' AND room = ${room}`;
  return row!.n;
}

/** How many fenced commits the room has had (each commit raises `version` by one). */
async function commitsOf(room: string): Promise<number> {
  const db = await database();
  const [row] = await db.sql<{ version: number }[]>`
    SELECT version::float8 AS version FROM partyhouse_rooms WHERE party = 'main' AND room = ${room}`;
  return row!.version;
}

async function ownerOf(room: string): Promise<string | null> {
  const db = await database();
  const [row] = await db.sql<{ owner: string | null }[]>`
    SELECT owner FROM partyhouse_rooms WHERE party = 'main' AND room = ${room}`;
  return row?.owner ?? null;
}

await whenPostgres(() => {
  describe("alarms in a cluster (two node processes, lease 1,000 ms)", () => {
    let a: Node;
    let b: Node;

    it("a live owner's alarm is fired by the owner, never by the other node", async () => {
      [a, b] = await Promise.all([startNode("node-a"), startNode("node-b")]);
      const room = "kept";
      assert.equal(await setAlarm(a, room, 1500), "node-a");
      await waitFor(async () => (await firedKeys(room)).length > 0, 15_000, "the alarm fires");
      // Several sweeps of b (one a second) pass over the fired room and its successors.
      await sleep(2500);
      assert.deepEqual(await firedKeys(room), ["fired-node-a-0-1"]);
      assert.equal(await alarmRows(room), 0, "the fired alarm's row is gone");
      assert.equal(await ownerOf(room), "node-a");
      // b never tried it either (a remote room's alarm would fail with PH_ERR_NOT_OWNER, retried).
      assert.doesNotMatch(b.logged.join(""), /onAlarm|PH_ERR_NOT_OWNER/);
    });

    it("an orphaned alarm fires once on the surviving node, with no request", async () => {
      const room = "orphaned";
      const delay = 1500;
      assert.equal(await setAlarm(a, room, delay), "node-a");
      const due = Date.now() + delay;
      const commitsBefore = await commitsOf(room);
      a.child.kill("SIGKILL");
      const killed = Date.now();
      await new Promise((r) => a.child.once("exit", r));
      await waitFor(async () => (await firedKeys(room)).length > 0, 20_000, "b fires the alarm");
      const firedAt = Date.now();
      // The owner's lease runs out at most LEASE_MS after its death; b's sweep runs every second.
      const late = firedAt - Math.max(due, killed + LEASE_MS);
      process.stderr.write(`# orphaned alarm fired ${late} ms after the lease ran out\n`);
      assert.ok(late < LEASE_MS + 1000 + 3000, `fired ${late} ms late (lease + 1 s, + slack)`);
      await sleep(2500);
      assert.deepEqual(await firedKeys(room), ["fired-node-b-0-1"], "exactly once, on b");
      assert.equal(await alarmRows(room), 0);
      assert.equal(await ownerOf(room), "node-b");
      // The handler's writes and the alarm row's delete were one commit: no crash could keep one.
      assert.equal(await commitsOf(room), commitsBefore + 1, "one commit on b");
      const res = await fetch(`${b.url}/parties/main/${room}`);
      assert.deepEqual(await res.json(), { nodeId: "node-b", count: 1 });
    });
  });
});
