/**
 * A network partition (issue 9): three `partyhouse start` nodes, each on a host of its own (a
 * network namespace, see netns-hosts.ts), and the owner of a room is cut off the database while
 * its clients and the other nodes still reach it. It must fence itself (1012 to its clients, 503
 * for new rooms) within its lease, another node must take the room over, and once its link is
 * back it must rejoin (incarnation 2) and serve again. No acknowledged write may be lost, and no
 * write it took while cut off may land once the link is back: those commits reach the database
 * only after the takeover, so only the epoch check in every commit keeps them out.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import WebSocket from "ws";
import { binPath, tempProject } from "../cli/cli-helpers.js";
import { sleep, waitFor } from "../helpers.js";
import {
  ADMIN_URL,
  createDatabase,
  dropDatabase,
  whenPostgres,
} from "../storage/postgres-helpers.js";
import { createHosts, netnsMissing } from "./netns-hosts.js";
import type { Hosts, NodeHost } from "./netns-hosts.js";
import { TcpRelay } from "./tcp-relay.js";
import { RoomPeer } from "../cli/room-peer.js";

const LEASE_MS = 2000;
const PORT = 1999; // every node has a namespace, and so a port space, of its own
const SECRET = "test-partition-secret-0123456789";

// Writes are acknowledged right after a put the room does not await: the output gate holds the
// ack until the commit is durable, so an ack means the key is in the database.
const PARTY = `
export default class Writes {
  constructor(room) { this.room = room; }
  onConnect(conn) { conn.send(JSON.stringify({ type: "hello", pid: process.pid })); }
  onMessage(message, sender) {
    const text = String(message);
    void this.room.storage.put(text, 1);
    sender.send("ack:" + text);
  }
  onRequest() { return Response.json({ pid: process.pid }); }
}
`;

interface Node {
  readonly host: NodeHost;
  readonly url: string;
  readonly pid: number;
  output(): string;
}

async function startNode(hosts: Hosts, host: NodeHost, dir: string, dbUrl: string): Promise<Node> {
  const child = hosts.spawn(host, process.execPath, [binPath, "start"], {
    cwd: dir,
    env: {
      ...process.env,
      PORT: String(PORT),
      HOST: "0.0.0.0",
      PARTYHOUSE_DATABASE_URL: dbUrl,
      PARTYHOUSE_NODE_URL: `http://${host.addr}:${PORT}`,
      PARTYHOUSE_CLUSTER_SECRET: SECRET,
      PARTYHOUSE_LEASE_MS: String(LEASE_MS),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`node ${host.name} exited:\n${out}`);
      return /listening on/.test(out);
    },
    30_000,
    `node ${host.name} to listen`,
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${out}`);
  });
  // `ip netns exec` execs the command, so the child's pid is the node's.
  return { host, url: `http://${host.addr}:${PORT}`, pid: child.pid!, output: () => out };
}

/**
 * Sends `w:<prefix><n>` every few ms while `peer` is open and on; records what was sent and
 * what was acknowledged.
 */
class Writer {
  readonly sent: string[] = [];
  on = true;
  readonly #timer: ReturnType<typeof setInterval>;
  constructor(
    readonly peer: RoomPeer,
    public prefix: string,
    acked: Set<string>,
  ) {
    peer.ws.on("message", (d) => {
      const text = String(d);
      if (text.startsWith("ack:")) acked.add(text.slice(4));
    });
    this.#timer = setInterval(() => {
      if (!this.on || peer.ws.readyState !== WebSocket.OPEN) return;
      const key = `w:${this.prefix}${this.sent.length}`;
      this.sent.push(key);
      peer.ws.send(key);
    }, 3);
    void peer.closed.then(() => this.stop());
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Bytes a node has written to its database sockets that the other end has not acknowledged. */
function unsentToDb(hosts: Hosts, node: NodeHost): number {
  // /proc/net/tcp lists the reading process's namespace; addresses are little-endian hex.
  const relayHex = node.dbHost
    .split(".")
    .map((o) => Number(o).toString(16).padStart(2, "0").toUpperCase())
    .reverse()
    .join("");
  let bytes = 0;
  for (const line of hosts.exec(node, "cat", ["/proc/net/tcp"]).split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !f[2]!.startsWith(`${relayHex}:`)) continue;
    // A SYN not yet answered counts as one byte still to deliver.
    bytes += parseInt(f[4]!.split(":")[0]!, 16) + (f[3] === "02" ? 1 : 0);
  }
  return bytes;
}

async function reopenServed(
  via: Node,
  room: string,
  accept: (pid: number) => boolean,
  timeoutMs: number,
): Promise<{ peer: RoomPeer; pid: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const peer = await RoomPeer.open(via.url, room).catch(() => undefined);
    const pid = await peer
      ?.hello()
      .then((h) => h.pid)
      .catch(() => undefined);
    if (peer !== undefined && pid !== undefined && accept(pid)) return { peer, pid };
    peer?.ws.terminate();
    if (Date.now() > deadline) throw new Error(`room ${room} never served through ${via.url}`);
    await sleep(25);
  }
}

await whenPostgres(() => {
  test("a node cut off from the database fences itself, is taken over, and rejoins", async () => {
    const missing = netnsMissing();
    if (missing !== null) assert.fail(missing);
    const db = await createDatabase();
    const dir = tempProject("ph-partition-");
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src/server.js"), PARTY);
    writeFileSync(join(dir, "partykit.json"), JSON.stringify({ name: "t", main: "src/server.js" }));
    let hosts: Hosts | undefined;
    const relays: TcpRelay[] = [];
    const peers: RoomPeer[] = [];
    try {
      hosts = createHosts(["a", "b", "c"]);
      const pg = new URL(ADMIN_URL);
      const nodes: Node[] = [];
      for (const host of hosts.nodes) {
        const relay = await TcpRelay.listen(host.dbHost, {
          host: pg.hostname,
          port: Number(pg.port || 5432),
        });
        relays.push(relay);
        const url = new URL(db.url);
        url.host = `${host.dbHost}:${relay.port}`;
        nodes.push(await startNode(hosts, host, dir, url.toString()));
      }
      const [a, b, c] = nodes as [Node, Node, Node];
      const nodeRow = async (node: Node) =>
        (
          await db.sql<{ id: string; incarnation: number }[]>`
            SELECT id, incarnation::int AS incarnation FROM partyhouse_nodes WHERE url = ${node.url}`
        )[0];
      const roomRow = async (room: string) =>
        (
          await db.sql<{ owner: string | null; epoch: number }[]>`
            SELECT owner, epoch::int AS epoch FROM partyhouse_rooms
            WHERE party = 'main' AND room = ${room}`
        )[0];
      const track = (p: RoomPeer) => (peers.push(p), p);

      // A owns the room: its client is the first; B's and C's are forwarded to it.
      const room = "cut";
      const direct = track(await RoomPeer.open(a.url, room));
      assert.equal((await direct.hello()).pid, a.pid, "the node reached first owns the room");
      const forwarded = [
        track(await RoomPeer.open(b.url, room)),
        track(await RoomPeer.open(c.url, room)),
      ];
      for (const p of forwarded) assert.equal((await p.hello()).pid, a.pid);
      const aId = (await nodeRow(a))!.id;
      const before = (await roomRow(room))!;
      assert.equal(before.owner, aId);

      const acked = new Set<string>();
      const writer = new Writer(direct, "pre-", acked);
      await waitFor(() => acked.size >= 200, 30_000, "200 acknowledged writes on A");
      // Quiet for a moment (every write acknowledged, no commit in flight), so that what A
      // commits next is sent over the cut link, after the cut.
      writer.on = false;
      await waitFor(() => writer.sent.every((k) => acked.has(k)), 10_000, "the acks to settle");

      hosts.cutDb(a.host);
      const cutAt = Date.now();
      writer.prefix = "cut-";
      writer.on = true;
      const closeCodes = await Promise.all(
        [direct, ...forwarded].map((p) =>
          p.closed.then((code) => ({ code, ms: Date.now() - cutAt })),
        ),
      );
      const fenceMs = closeCodes[0]!.ms;
      const cutKeys = writer.sent.filter((k) => k.startsWith("w:cut-"));
      for (const { code, ms } of closeCodes) {
        assert.equal(code, 1012, "A closes its clients, direct and forwarded, with 1012");
        assert.ok(ms < LEASE_MS, `closed ${ms} ms after the cut, within the ${LEASE_MS} ms lease`);
      }
      assert.ok(cutKeys.length > 0, "the client wrote to A while it was cut off");
      assert.deepEqual(
        cutKeys.filter((k) => acked.has(k)),
        [],
        "A acknowledges nothing while cut off",
      );
      const refused = await fetch(`${a.url}/parties/main/new-while-cut`);
      assert.equal(refused.status, 503, "a fenced node refuses new rooms");

      // B takes over: a client reconnecting through it is served by it (A's lease must lapse).
      const { peer: taken, pid: takerPid } = await reopenServed(
        b,
        room,
        (p) => p !== a.pid,
        20_000,
      );
      const takeoverMs = Date.now() - cutAt;
      track(taken);
      assert.equal(takerPid, b.pid, "the node the client reconnected through claims the room");
      const after = (await roomRow(room))!;
      assert.equal(after.owner, (await nodeRow(b))!.id);
      assert.ok(after.epoch > before.epoch, "the takeover is a new epoch");
      const throughC = track(await RoomPeer.open(c.url, room));
      assert.equal((await throughC.hello()).pid, b.pid, "C forwards to the new owner");
      const ackedBeforeTakeover = acked.size;
      const writer2 = new Writer(taken, "post-", acked);
      await waitFor(
        () => acked.size >= ackedBeforeTakeover + 100,
        30_000,
        "100 acknowledged writes on the new owner",
      );
      const unsentWhileCut = unsentToDb(hosts, a.host);

      hosts.restoreDb(a.host);
      const restoreAt = Date.now();
      await waitFor(
        async () => (await nodeRow(a))?.incarnation === 2,
        20_000,
        "A to rejoin as incarnation 2",
      );
      const rejoinMs = Date.now() - restoreAt;
      const served = await waitFor(
        async () => {
          const res = await fetch(`${a.url}/parties/main/new-after-rejoin`).catch(() => undefined);
          return res?.status === 200 ? ((await res.json()) as { pid: number }) : undefined;
        },
        10_000,
        "A to serve a new room",
      );
      assert.equal(served.pid, a.pid, "the rejoined node serves a room of its own");
      // Whatever A sent while cut off (its last commits, a hung renewal) is retransmitted now
      // (TCP backs off up to seconds); wait until all of it reached the relay, and so the database.
      await waitFor(() => unsentToDb(hosts!, a.host) === 0, 30_000, "A's backlog to drain");
      await sleep(500);
      writer2.stop();
      await sleep(200);

      const stored = new Set(
        (
          await db.sql<{ key: string }[]>`
            SELECT convert_from(key, 'UTF8') AS key FROM partyhouse_kv
            WHERE party = 'main' AND room = ${room}`
        ).map((r) => r.key),
      );
      const lost = [...acked].filter((k) => !stored.has(k));
      const late = cutKeys.filter((k) => stored.has(k));
      console.log(
        `# partition (lease ${LEASE_MS} ms): fenced ${fenceMs} ms after the cut` +
          ` (forwarded clients ${closeCodes[1]!.ms}, ${closeCodes[2]!.ms} ms); taken over by B` +
          ` ${takeoverMs} ms after the cut; rejoined ${rejoinMs} ms after the restore;` +
          ` ${acked.size} acknowledged, ${lost.length} lost; ${cutKeys.length} writes sent to A` +
          ` while cut, ${late.length} landed; ${unsentWhileCut} bytes A had unsent to the database`,
      );
      assert.deepEqual(lost, [], "no acknowledged write is lost");
      assert.deepEqual(late, [], "no commit A sent while cut off lands after the takeover");
      assert.equal(
        (await nodeRow(a))!.incarnation,
        2,
        "A rejoined once (a late renewal answer does not fence it again)",
      );
      const still = await fetch(`${a.url}/parties/main/new-after-rejoin`);
      assert.equal(still.status, 200, "A still serves");
      for (const node of nodes) {
        assert.doesNotMatch(node.output(), /PH_ERR_INTERNAL/, `node ${node.host.name} logs`);
      }
    } finally {
      for (const p of peers) p.ws.terminate();
      hosts?.remove();
      await Promise.all(relays.map((r) => r.close()));
      await db.sql.end({ timeout: 1 }).catch(() => {});
      await dropDatabase(db.name);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
