// The output gate's promise, under kill -9: a party writes without awaiting and acknowledges at
// once; the server is killed while hundreds of writes are in flight, restarted, killed again.
// No acknowledged write may be missing. Without the gate, the ack of a write still waiting for
// its commit leaves first, and a kill at that moment loses it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { tempDir } from "../storage/helpers.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const server = fileURLToPath(new URL("./fixtures/ack-server.ts", import.meta.url));
const ROUNDS = 10;
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

async function startServer(path: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", server, path], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  const lines = createInterface({ input: child.stdout! });
  const [url] = (await once(lines, "line")) as [string];
  return { child, url };
}

/** Keeps `inFlight` messages outstanding until killed; returns what was acknowledged. */
async function blastUntilKilled(
  url: string,
  child: ChildProcess,
  round: number,
): Promise<string[]> {
  const ws = new WebSocket(`${url.replace("http", "ws")}/parties/main/crash`);
  await once(ws, "open");
  const acked: string[] = [];
  let sent = 0;
  const send = (count: number) => {
    for (let i = 0; i < count; i++) ws.send(`${round}-${sent++}`);
  };
  ws.on("message", (data) => {
    acked.push(data.toString());
    send(1);
  });
  ws.on("error", () => {});
  send(400);
  // Kill somewhere in the middle of the stream, a different moment each round.
  const killAt = 1000 + round * 300;
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (acked.length >= killAt) {
        clearInterval(check);
        child.kill("SIGKILL");
        resolve();
      }
    }, 1);
  });
  await once(child, "exit");
  ws.terminate();
  return acked;
}

test("kill -9 under load loses no acknowledged write (output gate)", async () => {
  const { dir, remove } = tempDir();
  const path = join(dir, "acks.sqlite3");
  try {
    const everAcked: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { child, url } = await startServer(path);
      everAcked.push(...(await blastUntilKilled(url, child, round)));
    }
    const { child, url } = await startServer(path);
    const res = await fetch(`${url}/parties/main/crash`, {
      method: "POST",
      body: JSON.stringify(everAcked),
    });
    const missing = (await res.json()) as string[];
    child.kill("SIGKILL");
    assert.ok(everAcked.length >= ROUNDS * 1000, `only ${everAcked.length} acknowledged`);
    assert.deepEqual(missing, [], `${missing.length} of ${everAcked.length} acknowledged lost`);
  } finally {
    remove();
  }
});
