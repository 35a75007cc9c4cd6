import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createAssetHandler } from "../../src/assets/index.js";
import { contentTypeFor, mimeType } from "../../src/assets/content-type.js";
import { createPathFilter } from "../../src/assets/glob.js";
import { assetPathFromUrl } from "../../src/assets/safe-path.js";
import { spaFallsBack } from "../../src/assets/spa.js";
import type { ServeConfig } from "../../src/config/types.js";

const base = realpathSync(mkdtempSync(join(tmpdir(), "ph-assets-")));
after(() => rmSync(base, { recursive: true, force: true }));

const big = "x".repeat(300 * 1024);
const files: Record<string, string> = {
  "public/index.html": "<h1>home</h1>",
  "public/app.js": "console.log(1)",
  "public/style.css": "body{}",
  "public/data.json": "{}",
  "public/logo.svg": "<svg/>",
  "public/font.woff2": "w",
  "public/photo.png": "p",
  "public/noext": "n",
  "public/weird.unknownext": "u",
  "public/big.txt": big,
  "public/docs/index.html": "<h1>docs</h1>",
  "public/docs/guide.html": "<h1>guide</h1>",
  "public/404.html": "<h1>missing</h1>",
  "public/app.js.map": "{}",
  "public/.env": "SECRET=1",
  "public/.hidden/file.txt": "h",
  "public/node_modules/pkg/index.js": "nm",
  "public/sub dir/space file.txt": "spaced",
  "secret.txt": "outside the served folder",
};
for (const [name, text] of Object.entries(files)) {
  mkdirSync(dirname(join(base, name)), { recursive: true });
  writeFileSync(join(base, name), text);
}

function serve(extra: Partial<ServeConfig> = {}): ServeConfig {
  return {
    path: join(base, "public"),
    singlePageApp: false,
    browserTTL: null,
    edgeTTL: null,
    include: [],
    exclude: [],
    ...extra,
  };
}

function get(path: string, init: RequestInit = {}): Request {
  return new Request(`http://localhost:1999${path}`, init);
}

const navigate = { headers: { "Sec-Fetch-Mode": "navigate" } };

describe("asset handler", () => {
  const dev = createAssetHandler(serve(), { dev: true });

  it("serves files with their content types", async () => {
    const cases: Array<[string, string, string]> = [
      ["/app.js", "text/javascript; charset=utf-8", "console.log(1)"],
      ["/style.css", "text/css; charset=utf-8", "body{}"],
      ["/data.json", "application/json; charset=utf-8", "{}"],
      // As partykit dev (esbuild's dev server) labels them: SVG without a charset.
      ["/logo.svg", "image/svg+xml", "<svg/>"],
      ["/font.woff2", "font/woff2", "w"],
      ["/photo.png", "image/png", "p"],
      ["/noext", "application/octet-stream", "n"],
      ["/sub%20dir/space%20file.txt", "text/plain; charset=utf-8", "spaced"],
    ];
    for (const [path, type, body] of cases) {
      const res = await dev.fetch(get(path));
      assert.ok(res, path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), type, path);
      assert.equal(res.headers.get("content-length"), String(Buffer.byteLength(body)), path);
      // as partykit dev's asset server: any origin may fetch public files
      assert.equal(res.headers.get("access-control-allow-origin"), "*", path);
      assert.equal(await res.text(), body, path);
    }
  });

  it("serves index.html for / and for trailing slashes", async () => {
    assert.equal(await (await dev.fetch(get("/")))?.text(), "<h1>home</h1>");
    assert.equal(await (await dev.fetch(get("/docs/")))?.text(), "<h1>docs</h1>");
    assert.equal(
      (await dev.fetch(get("/")))?.headers.get("content-type"),
      "text/html; charset=utf-8",
    );
  });

  it("returns null for missing files, folders without a slash, and other methods", async () => {
    assert.equal(await dev.fetch(get("/nope.js")), null);
    assert.equal(await dev.fetch(get("/docs")), null);
    assert.equal(await dev.fetch(get("/app.js", { method: "POST", body: "x" })), null);
    assert.equal(await dev.fetch(get("/app.js", { method: "DELETE" })), null);
    assert.equal(await dev.fetch(get("/app.js/inner")), null);
  });

  it("answers HEAD with headers and no body", async () => {
    const res = await dev.fetch(get("/app.js", { method: "HEAD" }));
    assert.ok(res);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), "14");
    assert.equal(res.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(res.body, null);
  });

  it("streams large files whole", async () => {
    const res = await dev.fetch(get("/big.txt"));
    assert.ok(res);
    assert.equal(res.headers.get("content-length"), String(big.length));
    assert.equal(await res.text(), big);
  });

  it("refuses paths that leave the folder, however they are spelled", async () => {
    const attempts = [
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/..%2fsecret.txt",
      "/%2e%2e%2fsecret.txt",
      "/docs/..%2f..%2fsecret.txt",
      "/..%5csecret.txt",
      "/%2E%2E%2Fsecret.txt",
      "/docs/%2e%2e/%2e%2e/secret.txt",
      "/app.js%00.png",
      "/%E0%A4%A",
    ];
    for (const path of attempts) {
      const res = await dev.fetch(get(path));
      const text = res ? await res.text() : "";
      assert.ok(!text.includes("outside the served folder"), `${path} leaked the file`);
    }
    assert.equal(assetPathFromUrl("/..%2fsecret.txt"), null);
    assert.equal(assetPathFromUrl("/a/%2e%2e/b"), null);
    assert.equal(assetPathFromUrl("/a\\..\\b"), null);
    assert.equal(assetPathFromUrl("/a/b.txt"), "a/b.txt");
  });

  it("never serves dotfiles or node_modules", async () => {
    assert.equal(await dev.fetch(get("/.env")), null);
    assert.equal(await dev.fetch(get("/%2eenv")), null);
    assert.equal(await dev.fetch(get("/.hidden/file.txt")), null);
    assert.equal(await dev.fetch(get("/node_modules/pkg/index.js")), null);
  });

  it("says no-cache in dev and uses browserTTL/edgeTTL in production", async () => {
    assert.equal((await dev.fetch(get("/app.js")))?.headers.get("cache-control"), "no-cache");
    const prod = createAssetHandler(serve({ browserTTL: 3600, edgeTTL: 86400 }), { dev: false });
    assert.equal(
      (await prod.fetch(get("/app.js")))?.headers.get("cache-control"),
      "public, max-age=3600, s-maxage=86400",
    );
    const noTtl = createAssetHandler(serve(), { dev: false });
    assert.equal(
      (await noTtl.fetch(get("/app.js")))?.headers.get("cache-control"),
      "public, max-age=0, must-revalidate",
    );
  });

  it("answers 304 to a matching If-None-Match", async () => {
    const first = await dev.fetch(get("/app.js"));
    const etag = first?.headers.get("etag");
    assert.ok(etag);
    const again = await dev.fetch(get("/app.js", { headers: { "If-None-Match": etag } }));
    assert.equal(again?.status, 304);
    assert.equal(again?.body, null);
    const other = await dev.fetch(get("/app.js", { headers: { "If-None-Match": `W/"other"` } }));
    assert.equal(other?.status, 200);
  });

  it("applies include and exclude globs", async () => {
    const filtered = createAssetHandler(serve({ exclude: ["*.map", "docs/**"] }), { dev: true });
    assert.equal(await filtered.fetch(get("/app.js.map")), null);
    assert.equal(await filtered.fetch(get("/docs/guide.html")), null);
    assert.ok(await filtered.fetch(get("/app.js")));
    const only = createAssetHandler(serve({ include: ["**/*.html"] }), { dev: true });
    assert.ok(await only.fetch(get("/docs/guide.html")));
    assert.ok(await only.fetch(get("/")));
    assert.equal(await only.fetch(get("/app.js")), null);
  });

  it("fetchAsset reads by path without the SPA fallback", async () => {
    const spa = createAssetHandler(serve({ singlePageApp: true }), { dev: true });
    const res = await spa.fetchAsset("/404.html");
    assert.equal(res?.status, 200);
    assert.equal(await res?.text(), "<h1>missing</h1>");
    assert.equal(await spa.fetchAsset("/no-such-page"), null);
    await assert.rejects(spa.fetchAsset("404.html"), /must start with "\/"/);
  });

  it("does nothing without a serve config", async () => {
    const none = createAssetHandler(undefined, { dev: true });
    assert.equal(await none.fetch(get("/")), null);
    assert.equal(await none.fetchAsset("/404.html"), null);
  });
});

describe("single-page-app fallback", () => {
  const spa = createAssetHandler(serve({ singlePageApp: true }), { dev: true });
  const home = "<h1>home</h1>";

  it("serves index.html to navigations that match no file", async () => {
    assert.equal(await (await spa.fetch(get("/some/client/route", navigate)))?.text(), home);
    assert.equal(await (await spa.fetch(get("/missing.png", navigate)))?.text(), home);
    assert.equal(await (await spa.fetch(get("/parties/main", navigate)))?.text(), home);
  });

  it("still serves real files first", async () => {
    assert.equal(
      await (await spa.fetch(get("/docs/guide.html", navigate)))?.text(),
      "<h1>guide</h1>",
    );
  });

  it("does not fall back for requests that are not navigations", async () => {
    assert.equal(await spa.fetch(get("/some/client/route")), null);
    assert.equal(
      await spa.fetch(get("/some/client/route", { headers: { "Sec-Fetch-Mode": "cors" } })),
      null,
    );
  });

  it("under room URLs, falls back only for .html and paths without a known type", async () => {
    assert.equal(await (await spa.fetch(get("/parties/main/room1", navigate)))?.text(), home);
    assert.equal(await (await spa.fetch(get("/party/room1/page.html", navigate)))?.text(), home);
    assert.equal(
      await (await spa.fetch(get("/parties/main/room1/x.unknownext", navigate)))?.text(),
      home,
    );
    assert.equal(await spa.fetch(get("/parties/main/room1/logo.png", navigate)), null);
    assert.equal(await spa.fetch(get("/party/room1/app.js", navigate)), null);
  });

  it("is off unless singlePageApp is set", async () => {
    const plain = createAssetHandler(serve(), { dev: true });
    assert.equal(await plain.fetch(get("/some/client/route", navigate)), null);
  });

  it("follows PartyKit's rule table", () => {
    assert.equal(spaFallsBack("anything/at/all.png"), true);
    assert.equal(spaFallsBack("parties/main"), true);
    assert.equal(spaFallsBack("parties/main/room"), true);
    assert.equal(spaFallsBack("parties/main/room/index.html"), true);
    assert.equal(spaFallsBack("parties/main/room/a.css"), false);
    assert.equal(spaFallsBack("party/room/a.json"), false);
  });
});

describe("content types and globs", () => {
  it("knows the common web types and nothing for names without an extension", () => {
    assert.equal(mimeType("a/b/index.html"), "text/html");
    assert.equal(mimeType("x.MJS"), "text/javascript");
    assert.equal(mimeType("x.wasm"), "application/wasm");
    assert.equal(mimeType("parties/main/room1"), null);
    assert.equal(mimeType("file."), null);
    assert.equal(contentTypeFor("x.webp"), "image/webp");
    assert.equal(contentTypeFor("x.txt"), "text/plain; charset=utf-8");
    assert.equal(contentTypeFor("site.webmanifest"), "application/manifest+json");
  });

  it("matches *, **, ? and {a,b}", () => {
    const match = (glob: string, path: string) => createPathFilter([glob], [])(path);
    assert.equal(match("*.js", "a.js"), true);
    assert.equal(match("*.js", "deep/a.js"), true, "a glob without / matches at any depth");
    assert.equal(match("src/*.js", "src/deep/a.js"), false);
    assert.equal(match("src/**/*.js", "src/a.js"), true);
    assert.equal(match("src/**/*.js", "src/x/y/a.js"), true);
    assert.equal(match("**", "any/thing"), true);
    assert.equal(match("a?.txt", "ab.txt"), true);
    assert.equal(match("a?.txt", "a/.txt"), false);
    assert.equal(match("*.{png,jpg}", "x.jpg"), true);
    assert.equal(match("*.{png,jpg}", "x.gif"), false);
    assert.equal(match("./docs/*", "docs/a"), true);
    assert.equal(match("a.b", "aXb"), false, "dots are literal");
  });
});
