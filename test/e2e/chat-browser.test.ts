import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";
import { copyExample, killAll, startCli } from "../cli/cli-helpers.js";
import { waitFor } from "../helpers.js";

const CHROMIUM = "/usr/bin/chromium";

let browser: Browser | undefined;
after(async () => {
  await browser?.close();
  killAll();
});

describe("examples/chat in a real browser", () => {
  it("two pages chat, and a reloaded page shows the history", async () => {
    const dir = copyExample("chat");
    const dev = await startCli(["dev", "-p", "0"], dir);
    await waitFor(
      async () => (await fetch(dev.url + "/dist/client.js")).status === 200,
      20000,
      "client bundle",
    );

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    const ada = await browser.newPage();
    const bob = await browser.newPage();
    await ada.goto(`${dev.url}/?room=e2e&user=ada`);
    await bob.goto(`${dev.url}/?room=e2e&user=bob`);
    await ada.locator("#status", { hasText: "connected" }).waitFor();
    await bob.locator("#status", { hasText: "connected" }).waitFor();

    await ada.fill("#text", "hi bob");
    await ada.press("#text", "Enter");
    await bob.locator("#messages li", { hasText: "ada: hi bob" }).waitFor();
    await bob.fill("#text", "hello ada");
    await bob.click("button[type=submit]");
    await ada.locator("#messages li", { hasText: "bob: hello ada" }).waitFor();
    assert.equal(await bob.locator("#presence").textContent(), "2");

    await bob.reload();
    await bob.locator("#status", { hasText: "connected" }).waitFor();
    await bob.locator("#messages li").nth(1).waitFor();
    assert.deepEqual(await bob.locator("#messages li").allTextContents(), [
      "ada: hi bob",
      "bob: hello ada",
    ]);

    dev.child.kill("SIGTERM");
    await dev.exited;
    rmSync(dir, { recursive: true, force: true });
  });
});
