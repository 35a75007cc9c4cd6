import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";
import { copyExample, killAll, startCli } from "../cli/cli-helpers.js";
import type { RunningCli } from "../cli/cli-helpers.js";
import { client, connected, disconnectClients, next } from "./sio-helpers.js";

/**
 * examples/socket.io-chat as a user runs it: `partyhouse dev` in the example's folder (the built
 * CLI, so `npm run build` first, as `npm test` does), reached by socket.io-client with each
 * transport forced, and by the example's own page in Chromium.
 */
const CHROMIUM = "/usr/bin/chromium";
let browser: Browser | undefined;
let dir: string | undefined;
after(async () => {
  disconnectClients();
  await browser?.close();
  killAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function stop(dev: RunningCli): Promise<void> {
  dev.child.kill("SIGTERM");
  const { code } = await dev.exited;
  assert.equal(code, 0, dev.output());
}

describe("examples/socket.io-chat", () => {
  it("chats over polling-only and websocket-only clients; history survives a restart", async () => {
    dir = copyExample("socket.io-chat");

    let dev = await startCli(["dev", "-p", "0"], dir);
    const ada = client(dev.url, { transports: ["polling"], query: { partyId: "e2e" } });
    const bob = client(dev.url, { transports: ["websocket"], query: { partyId: "e2e" } });
    const elsewhere = client(dev.url, { transports: ["websocket"], query: { partyId: "other" } });
    // Listeners go on before any await: an event that arrives with no listener is gone.
    const histories = await Promise.all([next(ada, "history"), next(bob, "history")]);
    assert.deepEqual(histories, [[[]], [[]]]);
    await connected(elsewhere);

    const adaLogin = next(ada, "login");
    ada.emit("add user", "ada");
    assert.deepEqual(await adaLogin, [{ numUsers: 1 }]);
    const joined = next(ada, "user joined");
    bob.emit("add user", "bob");
    assert.deepEqual(await joined, [{ username: "bob", numUsers: 2 }]);

    const toBob = next<[{ username: string; message: string }]>(bob, "new message");
    ada.emit("new message", "hi bob, I poll");
    assert.deepEqual(
      { ...(await toBob)[0], at: 0 },
      { username: "ada", message: "hi bob, I poll", at: 0 },
    );
    const toAda = next<[{ username: string; message: string }]>(ada, "new message");
    bob.emit("new message", "hi ada, I websocket");
    assert.equal((await toAda)[0].message, "hi ada, I websocket");
    assert.equal(ada.io.engine.transport.name, "polling");
    assert.equal(bob.io.engine.transport.name, "websocket");
    disconnectClients();
    await stop(dev);

    // Same folder, so the same SQLite state: the history of "e2e" comes back, "other" is empty.
    dev = await startCli(["dev", "-p", "0"], dir);
    const again = client(dev.url, { query: { partyId: "e2e" } });
    const other = client(dev.url, { query: { partyId: "other" } });
    const otherHistory = next(other, "history");
    const [history] = await next<[Array<{ username: string; message: string }>]>(again, "history");
    assert.deepEqual(
      history.map((m) => `${m.username}: ${m.message}`),
      ["ada: hi bob, I poll", "bob: hi ada, I websocket"],
    );
    assert.deepEqual(await otherHistory, [[]]);
    disconnectClients();

    // The page itself, with its bundled socket.io-client, one tab per forced transport.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    const polling = await browser.newPage();
    const websocket = await browser.newPage();
    await polling.goto(`${dev.url}/?partyId=e2e&transports=polling`);
    await websocket.goto(`${dev.url}/?partyId=e2e&transports=websocket`);
    for (const [page, name] of [
      [polling, "carol"],
      [websocket, "dave"],
    ] as const) {
      await page.locator("#messages li.message", { hasText: "hi ada, I websocket" }).waitFor();
      await page.fill("#username", name);
      await page.press("#username", "Enter");
    }
    await polling.locator("#messages li.log", { hasText: "over polling" }).waitFor();
    await websocket.locator("#messages li.log", { hasText: "over websocket" }).waitFor();
    await polling.fill("#message", "from the polling tab");
    await polling.press("#message", "Enter");
    await websocket.locator("#messages li.message", { hasText: "from the polling tab" }).waitFor();
    await websocket.fill("#message", "from the websocket tab");
    await websocket.press("#message", "Enter");
    await polling.locator("#messages li.message", { hasText: "from the websocket tab" }).waitFor();
    await browser.close();
    browser = undefined;
    await stop(dev);
  });
});
