import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";
import { killAll, startCli, tempProject } from "../cli/cli-helpers.js";
import { Client, waitFor } from "../helpers.js";

const CHROMIUM = "/usr/bin/chromium";

let browser: Browser | undefined;
after(async () => {
  await browser?.close();
  killAll();
});

const SERVER = `
import type * as Party from "partykit/server";
export default class Main implements Party.Server {
  constructor(readonly room: Party.Room) {}
  async onMessage(message: string, sender: Party.Connection) {
    await this.room.storage.put("last", message);
    sender.send("echo " + message);
  }
  onRequest(): Response { throw new Error("kaboom"); }
}
`;

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], "a PNG");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe("the admin page in a real browser", () => {
  it("shows live rooms, a messages/s chart, recent errors and one room's connections and keys", async (t) => {
    const dir = tempProject("ph-admin-page-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "partykit.json"), JSON.stringify({ name: "a", main: "src/s.ts" }));
    writeFileSync(join(dir, "src/s.ts"), SERVER);
    const run = await startCli(["start", "-p", "0", "--admin-port", "0"], dir, {
      PARTYHOUSE_ADMIN_SAMPLE_MS: "200",
    });
    const admin = (await run.waitForOutput(/admin listener on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const ws = await new Client(
      run.url.replace("http", "ws") + "/parties/main/lobby?_pk=ada",
    ).open();
    for (let i = 0; i < 20; i++) {
      ws.send(`m${i}`);
      assert.equal(await ws.nextText(), `echo m${i}`);
    }
    assert.equal((await fetch(`${run.url}/parties/main/lobby`)).status, 500);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    await page.goto(admin + "/");
    const row = page.locator("#rooms tr.room", { hasText: "lobby" });
    await row.waitFor();
    assert.deepEqual(await row.locator("td").allTextContents(), ["main", "lobby", "live", "1"]);
    await page.locator("#errors li", { hasText: "PH_ERR_ON_REQUEST" }).waitFor();
    assert.match(
      (await page.locator("#errors li").first().textContent()) ?? "",
      /main\/lobby: .*kaboom/,
    );
    // The chart has a line once samples exist, and it saw the burst of messages.
    await waitFor(
      async () =>
        ((await page.locator("#line").getAttribute("points")) ?? "").split(" ").length >= 3,
      15000,
      "chart points",
    );
    const points = ((await page.locator("#line").getAttribute("points")) ?? "").split(" ");
    const ys = points.map((p) => Number(p.split(",")[1]));
    assert.ok(Math.min(...ys) < 100, `a sample above zero: ${points.join(" ")}`);

    await row.click();
    await page.locator("#room-detail li.conn", { hasText: "ada" }).waitFor();
    assert.deepEqual(await page.locator("#room-detail li.key").allTextContents(), ["last"]);

    const shot = await page.screenshot({ fullPage: false });
    assert.deepEqual(pngSize(shot), { width: 1100, height: 700 });
    assert.ok(shot.length > 10_000, `a screenshot with content (${shot.length} bytes)`);

    ws.close();
    run.child.kill("SIGTERM");
    await run.exited;
  });
});
