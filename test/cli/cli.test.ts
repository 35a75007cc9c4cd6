import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import PartySocket from "partysocket";
import { Client, waitFor } from "../helpers.js";
import { killAll, runCli, startCli, tempProject } from "./cli-helpers.js";

after(killAll);

const toWs = (url: string, path: string) => url.replace("http", "ws") + path;

describe("partyhouse init + dev", () => {
  it("scaffolds a working chat project, serves it, and reloads on change keeping storage", async () => {
    const dir = tempProject("ph-init-");
    const init = await runCli(["init", "--no-install"], dir);
    assert.equal(init.code, 0, init.out);
    assert.match(readFileSync(join(dir, "partykit.json"), "utf8"), /"main": "src\/server.ts"/);

    const dev = await startCli(["dev", "-p", "0"], dir);
    const page = await fetch(dev.url + "/");
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<ul id="messages">/);
    // The page's script is bundled by serve.build; wait until it is served.
    await waitFor(
      async () => (await fetch(dev.url + "/dist/client.js")).status === 200,
      20000,
      "client bundle",
    );

    const ps = new PartySocket({
      host: new URL(dev.url).host,
      room: "lobby",
      WebSocket: WebSocket as never,
      minReconnectionDelay: 50,
      maxReconnectionDelay: 200,
    });
    const got: Array<{
      type: string;
      messages?: Array<{ text: string }>;
      message?: { text: string };
    }> = [];
    ps.addEventListener("message", (e) => got.push(JSON.parse(String(e.data))));
    await waitFor(() => got.some((m) => m.type === "history"), 10000, "history");
    ps.send("hello from the test");
    await waitFor(
      () => got.some((m) => m.type === "message" && m.message?.text === "hello from the test"),
      10000,
      "broadcast",
    );

    // Change the party: the room restarts with the new code, partysocket reconnects, storage stays.
    const serverFile = join(dir, "src/server.ts");
    writeFileSync(
      serverFile,
      readFileSync(serverFile, "utf8").replace(
        'conn.send(JSON.stringify({ type: "history", messages: this.messages }));',
        'conn.send(JSON.stringify({ type: "history", messages: this.messages, version: 2 }));',
      ),
    );
    await dev.waitForOutput(/reloaded/, 20000);
    await waitFor(
      () => got.some((m) => m.type === "history" && (m as { version?: number }).version === 2),
      20000,
      "reconnect to the new code",
    );
    const latest = got.filter((m) => m.type === "history").at(-1)!;
    assert.deepEqual(
      latest.messages?.map((m) => m.text),
      ["hello from the test"],
    );
    ps.close();
    dev.child.kill("SIGTERM");
    assert.equal((await dev.exited).code, 0);
  });
});

function writeProject(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

const COUNTER = `
import type * as Party from "partykit/server";
export default class Counter implements Party.Server {
  constructor(readonly room: Party.Room) {}
  onConnect(conn: Party.Connection) { conn.send("hello " + String(this.room.env.GREETING) + " " + String(this.room.env.FROM_FILE)); }
  async onRequest(req: Party.Request) {
    if (req.method === "POST") {
      const key = await req.text();
      await this.room.storage.put(key, Date.now());
      return new Response("stored " + key);
    }
    const all = await this.room.storage.list();
    return Response.json([...all.keys()]);
  }
}
`;

describe("partyhouse start", () => {
  it("reads PORT, logs JSON, and on SIGTERM closes sockets with 1012 and exits 0", async () => {
    const dir = tempProject("ph-start-");
    writeProject(dir, {
      "partykit.json": JSON.stringify({
        name: "t",
        main: "src/server.ts",
        vars: { GREETING: "from-config" },
      }),
      "src/server.ts": COUNTER,
      ".env": "FROM_FILE=dotenv\n",
    });
    const run = await startCli(["start", "--var", "GREETING=from-flag"], dir, { PORT: "0" });
    const client = await new Client(toWs(run.url, "/parties/main/room1")).open();
    assert.equal(await client.nextText(), "hello from-flag dotenv");
    run.child.kill("SIGTERM");
    const closed = await client.closed;
    assert.equal(closed.code, 1012);
    assert.equal((await run.exited).code, 0);
    const lines = run.output().trim().split("\n");
    for (const line of lines) {
      const entry = JSON.parse(line) as { level: string; message: string };
      assert.ok(entry.level && entry.message, `a JSON log line: ${line}`);
    }
  });

  it("keeps every acknowledged write across kill -9 and a restart", async () => {
    const dir = tempProject("ph-crash-");
    writeProject(dir, {
      "partykit.json": JSON.stringify({ name: "t", main: "src/server.ts" }),
      "src/server.ts": COUNTER,
    });
    const first = await startCli(["start", "-p", "0"], dir);
    const acknowledged: string[] = [];
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 50; i++) {
        const key = `w${w}-${i}`;
        const res = await fetch(`${first.url}/parties/main/crash`, { method: "POST", body: key });
        if ((await res.text()) === `stored ${key}`) acknowledged.push(key);
      }
    });
    await Promise.all(writers);
    first.child.kill("SIGKILL");
    await first.exited;
    const second = await startCli(["start", "-p", "0"], dir);
    const keys = (await (await fetch(`${second.url}/parties/main/crash`)).json()) as string[];
    for (const k of acknowledged) assert.ok(keys.includes(k), `acknowledged write ${k} survived`);
    assert.equal(acknowledged.length, 200);
    second.child.kill("SIGTERM");
    await second.exited;
  });
});

describe("config errors", () => {
  it("names the field and the fix, and exits 1", async () => {
    const dir = tempProject("ph-badcfg-");
    writeProject(dir, {
      "partykit.json": JSON.stringify({ name: "t", main: "src/server.ts", port: "not-a-number" }),
      "src/server.ts": COUNTER,
    });
    const r = await runCli(["dev"], dir);
    assert.equal(r.code, 1);
    assert.match(r.out, /PH_ERR_CONFIG/);
    assert.match(r.out, /port/);
    const missing = tempProject("ph-nomain-");
    writeProject(missing, { "partykit.json": JSON.stringify({ name: "t", main: "src/nope.ts" }) });
    const r2 = await runCli(["dev"], missing);
    assert.equal(r2.code, 1);
    assert.match(r2.out, /PH_ERR_ENTRY_NOT_FOUND/);
    assert.match(r2.out, /nope\.ts/);
  });
});
