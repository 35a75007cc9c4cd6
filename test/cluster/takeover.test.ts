// Two nodes as real processes on one PostgreSQL database. The owner of a room is SIGSTOPped past
// its lease; the other node takes the room over; the first is resumed (SIGCONT). The paused owner
// must write nothing (no row of it lands after the takeover) and send nothing (its clients see
// their socket closed with 1012 and no message after the takeover).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import WebSocket from "ws";
import { sleep, waitFor } from "../helpers.js";
import { fileDatabase, whenPostgres } from "../storage/postgres-helpers.js";

const LEASE_MS = 1000;
const fixture = new URL("./fixtures/node.ts", import.meta.url).pathname;
const database = fileDatabase();
const children = new Set<ChildProcess>();
const sockets = new Set<WebSocket>();
after(() => {
  for (const ws of sockets) ws.terminate();
  // SIGKILL ends a stopped process too.
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

interface Node {
  readonly child: ChildProcess;
  readonly url: string;
  readonly nodeId: string;
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
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(child);
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`node ${nodeId} exited with ${code}`)));
  });
  const { url } = JSON.parse(first) as { url: string };
  return { child, url, nodeId };
}

interface Watched {
  readonly ws: WebSocket;
  readonly messages: string[];
  readonly closed: Promise<number>;
}

/** A client of `room` on `node`; rejects if the node refuses the upgrade (not the owner). */
function client(node: Node, room: string): Promise<Watched> {
  const ws = new WebSocket(`${node.url.replace("http", "ws")}/parties/main/${room}`);
  sockets.add(ws);
  const messages: string[] = [];
  ws.on("message", (data) => messages.push(String(data)));
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, messages, closed }));
    ws.once("unexpected-response", (_req, res) => {
      reject(new Error(`upgrade refused: ${res.statusCode}`));
      ws.terminate();
    });
    ws.once("error", reject);
  });
}

/** A client of `room` greeted by `nodeId` within 2 s, else undefined (and closed). */
async function servedBy(node: Node, room: string, nodeId: string): Promise<Watched | undefined> {
  const watched = await Promise.race([
    client(node, room).catch(() => undefined),
    sleep(2000).then(() => undefined),
  ]);
  if (watched === undefined) return undefined;
  const greeted = await waitFor(() => watched.messages.length > 0, 2000).catch(() => false);
  if (greeted && watched.messages[0] === `hello ${nodeId}`) return watched;
  watched.ws.terminate();
  return undefined;
}

async function keysOf(nodeId: string, room: string): Promise<string[]> {
  const db = await database();
  const rows = await db.sql<{ key: Buffer }[]>`
    SELECT key FROM partyhouse_kv WHERE party = 'main' AND room = ${room}`;
  return rows.map((r) => r.key.toString()).filter((k) => k.startsWith(`${nodeId}-`));
}

await whenPostgres(() => {
  describe("a paused owner (SIGSTOP past its lease, then SIGCONT)", () => {
    it("writes nothing and sends nothing after the other node took its room over", async () => {
      const [a, b] = await Promise.all([startNode("node-a"), startNode("node-b")]);
      const room = "contested";
      const onA = await client(a, room);
      await waitFor(() => onA.messages.some((m) => m.startsWith("tick node-a")), 10_000, "ticks");
      assert.equal(onA.messages[0], "hello node-a");
      await waitFor(async () => (await keysOf("node-a", room)).length > 0, 10_000, "a writes");

      a.child.kill("SIGSTOP");
      // Until a's lease runs out b refuses the room (or, with forwarding, tries the paused a).
      const onB = await waitFor(
        () => servedBy(b, room, "node-b"),
        20_000,
        "b takes the room over once a's lease ran out",
      );
      // a is stopped: whatever it had in flight has landed or never will.
      const keysAtTakeover = await keysOf("node-a", room);
      const seenAtTakeover = onA.messages.length;
      const db = await database();
      const [owned] = await db.sql<{ owner: string; epoch: string }[]>`
        SELECT owner, epoch FROM partyhouse_rooms WHERE party = 'main' AND room = ${room}`;
      assert.equal(owned!.owner, "node-b");

      a.child.kill("SIGCONT");
      const code = await Promise.race([
        onA.closed,
        sleep(15_000).then(() => "still open after 15 s"),
      ]);
      assert.equal(code, 1012, "a closes its rooms' sockets with 1012");
      assert.deepEqual(onA.messages.slice(seenAtTakeover), [], "a sent nothing after the takeover");
      // a's stale instance keeps ticking (its timer was never cleared): give it many turns.
      await sleep(1500);
      assert.deepEqual(await keysOf("node-a", room), keysAtTakeover, "no write of a landed");
      const [after] = await db.sql<{ owner: string; epoch: string }[]>`
        SELECT owner, epoch FROM partyhouse_rooms WHERE party = 'main' AND room = ${room}`;
      assert.deepEqual(after, owned, "b still owns the room under the same epoch");
      // b is live and writing under its epoch.
      assert.ok((await keysOf("node-b", room)).length > 0);
      assert.ok(onB.messages.some((m) => m.startsWith("tick node-b")));
      // a rejoined the cluster, and a new client reaching it is not served by a stale instance.
      const again = await client(a, room).catch(() => undefined);
      if (again !== undefined) {
        await sleep(200);
        assert.ok(!again.messages.some((m) => m.includes("node-a")), "a serves the room no more");
      }
    });
  });
});
