import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAssetHandler } from "../../src/assets/index.js";
import type { Partyhouse } from "../../src/runtime/start.js";
import { closeAll, serve } from "../helpers.js";

/** Symlinks in the served folder that point outside it, or at a dotfile, are never followed. */
describe("the asset server and symlinks", () => {
  const base = realpathSync(mkdtempSync(join(tmpdir(), "ph-symlinks-")));
  const pub = join(base, "public");
  let ph: Partyhouse;
  before(async () => {
    mkdirSync(join(pub, "docs"), { recursive: true });
    writeFileSync(join(base, "secret.txt"), "outside");
    writeFileSync(join(base, ".env"), "SECRET=1");
    writeFileSync(join(pub, ".env"), "SECRET=2");
    writeFileSync(join(pub, "app.js"), "console.log(1)");
    writeFileSync(join(pub, "docs", "index.html"), "<h1>docs</h1>");
    symlinkSync("/etc/passwd", join(pub, "passwd"));
    symlinkSync("../secret.txt", join(pub, "leak.txt"));
    symlinkSync("../.env", join(pub, "env.txt"));
    symlinkSync(".env", join(pub, "inner-env.txt"));
    symlinkSync("..", join(pub, "up"));
    symlinkSync("app.js", join(pub, "alias.js"));
    symlinkSync("docs", join(pub, "manual"));
    const assets = createAssetHandler(
      {
        path: pub,
        singlePageApp: false,
        browserTTL: null,
        edgeTTL: null,
        include: [],
        exclude: [],
      },
      { dev: false },
    );
    ph = await serve({
      parties: { main: class {} },
      siteAssets: assets,
    });
  });
  after(async () => {
    await closeAll();
    rmSync(base, { recursive: true, force: true });
  });

  const status = async (path: string) => {
    const res = await fetch(ph.url + path);
    return { status: res.status, body: await res.text() };
  };

  for (const path of [
    "/passwd",
    "/leak.txt",
    "/env.txt",
    "/inner-env.txt",
    "/up/secret.txt",
    "/up/.env",
    "/.env",
  ]) {
    it(`${path}: 404, the target is never read`, async () => {
      const r = await status(path);
      assert.equal(r.status, 404);
      assert.doesNotMatch(r.body, /root:|outside|SECRET/);
    });
  }

  it("symlinks that stay inside the folder are served", async () => {
    assert.deepEqual(await status("/alias.js"), { status: 200, body: "console.log(1)" });
    assert.deepEqual(await status("/manual/"), { status: 200, body: "<h1>docs</h1>" });
  });

  it('with symlinks: "refuse", no path through a symlink is served, real files are', async () => {
    const strict = createAssetHandler(
      {
        path: pub,
        singlePageApp: false,
        browserTTL: null,
        edgeTTL: null,
        include: [],
        exclude: [],
        symlinks: "refuse",
      },
      { dev: false },
    );
    const other = await serve({ parties: { main: class {} }, siteAssets: strict });
    const get = async (path: string) => (await fetch(other.url + path)).status;
    assert.equal(await get("/alias.js"), 404);
    assert.equal(await get("/manual/"), 404);
    assert.equal(await get("/passwd"), 404);
    assert.equal(await get("/app.js"), 200);
    assert.equal(await get("/docs/"), 200);
  });
});
