import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { Client } from "../helpers.js";
import { copyExample, killAll, startCli } from "../cli/cli-helpers.js";
import type { RunningCli } from "../cli/cli-helpers.js";
import { client, connected, disconnectClients, next } from "../socketio/sio-helpers.js";

/**
 * The examples fed long messages (their own 2,000-character cap) far past the point where one
 * history value would pass the 128 KiB storage limit: they keep chatting, keep their history
 * (capped) across a restart, and the server never logs a storage error.
 */
const dirs: string[] = [];
after(() => {
  disconnectClients();
  killAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function stop(run: RunningCli): Promise<void> {
  run.child.kill("SIGTERM");
  const { code } = await run.exited;
  assert.equal(code, 0, run.output());
}

const long = (i: number) => `${i}:`.padEnd(2000, "x");

describe("the examples stay inside the storage limits", () => {
  it("examples/chat: 300 messages of 2,000 characters, history of 200 after a restart", async () => {
    const dir = copyExample("chat");
    dirs.push(dir);
    let run = await startCli(["start"], dir, { PORT: "0" });
    const ws = await new Client(run.url.replace("http", "ws") + "/parties/main/long").open();
    const listener = await new Client(run.url.replace("http", "ws") + "/parties/main/long").open();
    for (let i = 0; i < 300; i++) ws.send(JSON.stringify({ user: "ada", text: long(i) }));
    // The listener sees every broadcast, the 300th included.
    for (;;) {
      const event = JSON.parse(await listener.nextText(15_000)) as {
        type: string;
        message?: { text: string };
      };
      if (event.type === "message" && event.message!.text.startsWith("299:")) break;
    }
    ws.close();
    listener.close();
    assert.doesNotMatch(run.output(), /PH_ERR_STORAGE|PH_ERR_ROOM_FAULT/);
    await stop(run);

    run = await startCli(["start"], dir, { PORT: "0" });
    const history = (await (await fetch(`${run.url}/parties/main/long`)).json()) as Array<{
      text: string;
    }>;
    assert.equal(history.length, 200);
    assert.ok(history[0]!.text.startsWith("100:"));
    assert.ok(history[199]!.text.startsWith("299:"));
    await stop(run);
  });

  it("examples/socket.io-chat: 150 long messages (it died after 65), history of 100", async () => {
    const dir = copyExample("socket.io-chat");
    dirs.push(dir);
    let run = await startCli(["start"], dir, { PORT: "0" });
    const ada = client(run.url, { transports: ["websocket"], query: { partyId: "long" } });
    const bob = client(run.url, { transports: ["websocket"], query: { partyId: "long" } });
    await Promise.all([connected(ada), connected(bob)]);
    ada.emit("add user", "ada");
    await next(ada, "login");
    const received: string[] = [];
    bob.on("new message", (m: { message: string }) => received.push(m.message));
    for (let i = 0; i < 150; i++) ada.emit("new message", long(i));
    const deadline = Date.now() + 15_000;
    while (received.length < 150 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(received.length, 150);
    assert.doesNotMatch(run.output(), /PH_ERR_STORAGE|PH_ERR_ROOM_FAULT/);
    disconnectClients();
    await stop(run);

    run = await startCli(["start"], dir, { PORT: "0" });
    const again = client(run.url, { transports: ["websocket"], query: { partyId: "long" } });
    const [history] = await next<[Array<{ message: string }>]>(again, "history");
    assert.equal(history.length, 100);
    assert.ok(history[0]!.message.startsWith("50:"));
    assert.ok(history[99]!.message.startsWith("149:"));
    disconnectClients();
    await stop(run);
  });
});
