/**
 * What party code may import, through the real CLI (esbuild bundle + server): workerd's module
 * types (.wasm, .bin, .txt), packages resolved with PartyKit's export conditions, a project's own
 * party.io build, and bare package paths as serve.build entries.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { waitFor } from "../helpers.js";
import { startCli } from "../cli/cli-helpers.js";
import { pkg, project } from "./helpers.js";

/** (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)) */
const ADD_WASM = Buffer.from(
  "0061736d0100000001070160027f7f017f030201000707010361646400000a09010700200020016a0b",
  "hex",
);

async function stop(dev: Awaited<ReturnType<typeof startCli>>): Promise<void> {
  dev.child.kill("SIGTERM");
  await dev.exited;
}

describe("module types", () => {
  it("imports .wasm as a WebAssembly.Module, .bin as an ArrayBuffer and .txt as a string", async () => {
    const root = project({
      "partykit.json": JSON.stringify({ name: "mods", main: "src/server.ts" }),
      "src/add.wasm": ADD_WASM,
      "src/lib/data.bin": Buffer.from([0, 1, 2, 250, 255]),
      "src/notes.txt": "héllo from a text module\n",
      "node_modules/wasm-pkg/package.json": pkg({ name: "wasm-pkg", version: "1.0.0" }),
      "node_modules/wasm-pkg/add.wasm": ADD_WASM,
      "src/server.ts": `
        import add from "./add.wasm";
        import again from "./add.wasm?module";
        import fromPkg from "wasm-pkg/add.wasm";
        import data from "./lib/data.bin";
        import notes from "./notes.txt";
        const sum = (m: WebAssembly.Module) =>
          (new WebAssembly.Instance(m).exports.add as (a: number, b: number) => number)(20, 22);
        export default class Main {
          onRequest() {
            return Response.json({
              isModule: add instanceof WebAssembly.Module && again instanceof WebAssembly.Module,
              sums: [sum(add), sum(again), sum(fromPkg)],
              isArrayBuffer: data instanceof ArrayBuffer,
              bytes: [...new Uint8Array(data)],
              notes,
            });
          }
        }`,
    });
    const dev = await startCli(["dev", "-p", "0"], root);
    const body = (await (await fetch(dev.url + "/parties/main/r")).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(body, {
      isModule: true,
      sums: [42, 42, 42],
      isArrayBuffer: true,
      bytes: [0, 1, 2, 250, 255],
      notes: "héllo from a text module\n",
    });
    await stop(dev);
  });
});

describe("module types: errors", () => {
  it("names a missing .wasm file in the bundle error", async () => {
    const root = project({
      "partykit.json": JSON.stringify({ name: "nowasm", main: "src/server.ts" }),
      "src/server.ts": `import m from "./missing.wasm";\nexport default class Main { static m = m; }\n`,
    });
    await assert.rejects(
      startCli(["dev", "-p", "0"], root),
      /PH_ERR_BUNDLE[\s\S]*Could not resolve "\.\/missing\.wasm": there is no file/,
    );
  });
});

describe("package resolution", () => {
  it("uses a package's workerd/worker/browser build where it has one, else leaves it to Node", async () => {
    const root = project({
      "partykit.json": JSON.stringify({ name: "conds", main: "src/server.ts" }),
      // Like react-dom/server: the Node build (CommonJS) lacks what the edge build exports.
      "node_modules/edge-dom/package.json": pkg({
        name: "edge-dom",
        version: "1.0.0",
        exports: {
          "./server": {
            workerd: "./server.edge.js",
            node: "./server.node.js",
            default: "./server.node.js",
          },
          "./package.json": "./package.json",
        },
      }),
      "node_modules/edge-dom/server.node.js": `exports.renderToString = () => "node";\n`,
      "node_modules/edge-dom/server.edge.js": `
        const { shared } = require("plain-dep");
        exports.renderToReadableStream = async (text) =>
          new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(shared + ":" + text)); c.close(); } });
        exports.which = "edge";`,
      // Conditions in a nested object and a subpath pattern.
      "node_modules/cond-pkg/package.json": pkg({
        name: "cond-pkg",
        version: "1.0.0",
        type: "module",
        exports: {
          "./feature/*": { import: { worker: "./w/*.js", default: "./n/*.js" } },
          ".": { node: "./node.js", browser: "./browser.js", default: "./node.js" },
        },
      }),
      "node_modules/cond-pkg/node.js": `export const which = "node";\n`,
      "node_modules/cond-pkg/browser.js": `export const which = "browser";\n`,
      "node_modules/cond-pkg/w/x.js": `export const feature = "worker-x";\n`,
      "node_modules/cond-pkg/n/x.js": `export const feature = "node-x";\n`,
      // No worker conditions: stays external, loaded by Node (one shared copy).
      "node_modules/plain-dep/package.json": pkg({
        name: "plain-dep",
        version: "1.0.0",
        exports: { ".": { import: "./index.mjs", require: "./index.cjs" } },
      }),
      "node_modules/plain-dep/index.mjs": `export const shared = "plain-esm"; export const token = globalThis.__phPlainToken ??= Math.random();\n`,
      "node_modules/plain-dep/index.cjs": `exports.shared = "plain-cjs";\n`,
      // Like the postgres package: its workerd build opens sockets with cloudflare:sockets,
      // which Node lacks, so the Node build is the one that runs.
      "node_modules/cf-db/package.json": pkg({
        name: "cf-db",
        version: "1.0.0",
        type: "module",
        exports: { ".": { workerd: "./cf/index.js", default: "./node/index.js" } },
      }),
      "node_modules/cf-db/cf/index.js": `export { which } from "./impl.js";\n`,
      "node_modules/cf-db/cf/impl.js": `import { connect } from "cloudflare:sockets";\nexport const which = typeof connect;\n`,
      "node_modules/cf-db/node/index.js": `export const which = "node-db";\n`,
      "src/server.ts": `
        import { which as dbWhich } from "cf-db";
        import { renderToReadableStream, which as edgeWhich } from "edge-dom/server";
        import { which } from "cond-pkg";
        import { feature } from "cond-pkg/feature/x";
        import { shared } from "plain-dep";
        import { readFileSync } from "node:fs";
        export default class Main {
          async onRequest() {
            const stream = await renderToReadableStream("hi");
            return Response.json({
              edgeWhich, which, feature, shared, dbWhich,
              rendered: await new Response(stream).text(),
              fsWorks: typeof readFileSync === "function",
            });
          }
        }`,
    });
    const dev = await startCli(["dev", "-p", "0"], root);
    const body = (await (await fetch(dev.url + "/parties/main/r")).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(body, {
      edgeWhich: "edge",
      which: "browser",
      feature: "worker-x",
      shared: "plain-esm",
      dbWhich: "node-db",
      // The bundled edge build's require() of a plain package goes to Node (CommonJS build).
      rendered: "plain-cjs:hi",
      fsWorks: true,
    });
    // plain-dep stayed an import of the package, the others were bundled.
    const build = join(root, ".partykit", "build");
    const code = readdirSync(build)
      .filter((f) => f.startsWith("main."))
      .map((f) => readFileSync(join(build, f), "utf8"))
      .join("\n");
    assert.match(code, /from "plain-dep"/);
    assert.doesNotMatch(code, /from "cond-pkg"/);
    await stop(dev);
  });

  it("refuses workerd's own modules in party code with a bundle error naming them", async () => {
    const root = project({
      "partykit.json": JSON.stringify({ name: "cfmod", main: "src/server.ts" }),
      "src/server.ts": `import { DurableObject } from "cloudflare:workers";\nexport default class Main { static d = DurableObject; }\n`,
    });
    await assert.rejects(
      startCli(["dev", "-p", "0"], root),
      /PH_ERR_BUNDLE[\s\S]*"cloudflare:workers" is a module of Cloudflare's workerd runtime/,
    );
  });

  it("bundles a project's own party.io build (it is ESM without type: module, as PartyKit's dist is)", async () => {
    const root = project({
      "partykit.json": JSON.stringify({ name: "own-pio", main: "src/server.ts" }),
      "node_modules/party.io/package.json": pkg({
        name: "party.io",
        version: "0.0.16",
        main: "./dist/index.js",
      }),
      // A stand-in written for this test: answers upgrades with a WebSocketPair, as Party.IO does.
      "node_modules/party.io/dist/index.js": `
        export function createServer(setup) {
          return class {
            static async onFetch(req) {
              const { 0: client, 1: server } = new WebSocketPair();
              server.accept();
              setup({ socket: server });
              return new Response(null, { status: 101, webSocket: client });
            }
          };
        }`,
      "src/server.ts": `
        import { createServer } from "party.io";
        export default createServer((io: { socket: WebSocket }) => {
          io.socket.send("own party.io build");
        });`,
    });
    const dev = await startCli(["dev", "-p", "0"], root);
    const ws = new WebSocket(
      dev.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
    );
    const first = await new Promise<string>((resolve, reject) => {
      ws.once("message", (d) => resolve(d.toString()));
      ws.once("error", reject);
    });
    assert.equal(first, "own party.io build");
    ws.close();
    await stop(dev);
  });
});

describe("serve.build", () => {
  it("accepts bare package paths as entries, built to <outdir>/<package path>", async () => {
    const root = project({
      "partykit.json": JSON.stringify({
        name: "bare-entries",
        main: "src/server.ts",
        serve: {
          path: "public",
          build: {
            entry: [
              "src/client.ts",
              "fake-editor/esm/editor.worker.js",
              "fake-editor/esm/json.worker",
            ],
            format: "iife",
            splitting: false,
          },
        },
      }),
      "public/index.html": "<!doctype html><script src='/dist/src/client.js'></script>",
      "src/server.ts": `export default class Main { onRequest() { return new Response("ok"); } }`,
      "src/client.ts": `console.log("client");`,
      "node_modules/fake-editor/package.json": pkg({ name: "fake-editor", version: "1.0.0" }),
      "node_modules/fake-editor/esm/editor.worker.js": `self.editorWorker = "editor worker";\n`,
      "node_modules/fake-editor/esm/json.worker.js": `self.jsonWorker = "json worker";\n`,
    });
    const dev = await startCli(["dev", "-p", "0"], root);
    const get = async (path: string) => {
      const res = await fetch(dev.url + path);
      return res.status === 200 ? await res.text() : undefined;
    };
    const editor = await waitFor(
      () => get("/dist/fake-editor/esm/editor.worker.js"),
      20000,
      "the editor worker bundle",
    );
    assert.match(editor, /editor worker/);
    // Written without an extension, esbuild names the output after the path's own stem, as on
    // PartyKit (its monaco example loads /dist/monaco-editor/esm/vs/language/json/json.js).
    assert.match((await get("/dist/fake-editor/esm/json.js")) ?? "", /json worker/);
    assert.match((await get("/dist/src/client.js")) ?? "", /client/);
    await stop(dev);
  });
});
