import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { createBundler } from "../../src/bundler/index.js";
import type { Bundler, RebuildEvent } from "../../src/bundler/index.js";
import { loadConfigSync } from "../../src/config/load.js";
import type { CliFlags } from "../../src/config/types.js";
import { PartyhouseError } from "../../src/core/errors.js";

const dirs: string[] = [];
const bundlers: Bundler[] = [];
after(async () => {
  await Promise.all(bundlers.map((b) => b.dispose()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  dirs.push(dir);
  return dir;
}

function write(root: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
}

/** A stand-in for dist/compat/partykit-server.js, which may not be built when tests run. */
const compatDir = tempDir("ph-compat-");
// .mjs: the temp folder has no package.json saying "type": "module" (partyhouse's dist/ does).
const compatEntry = join(compatDir, "partykit-server.mjs");
writeFileSync(compatEntry, `export const COMPAT = "partyhouse-compat";\n`);

const serverSource = (marker: string) => `
import type * as Party from "partykit/server";
import * as P from "partykit/server";
import { greet } from "local-dep";
import sep from "./legacy.cjs";
declare const PARTYKIT_HOST: string;
declare const MY_DEFINE: number;

export const compat = P;
export const host = PARTYKIT_HOST;
export const defined = MY_DEFINE;
export const secret = process.env.PH_TEST_DOTENV_SECRET;
export const separator = sep;

export default class Server implements Party.Server {
  static marker = ${JSON.stringify(marker)};
  static greeting = greet("party");
  constructor(readonly room: Party.Room) {}
  onMessage(message: string, sender: Party.Connection) {
    sender.send(message);
  }
}
`;

function makeProject(extra: Record<string, string> = {}): string {
  const root = tempDir("ph-bundle-");
  write(root, {
    "partykit.json": JSON.stringify({
      main: "src/server.ts",
      parties: { other: "src/other.tsx" },
      define: { MY_DEFINE: "42" },
    }),
    "src/server.ts": serverSource("v1"),
    // CommonJS bundled into ESM: needs the require() the banner provides.
    "src/legacy.cjs": `module.exports = require("node:path").sep;\n`,
    "src/other.tsx": `import { COMPAT } from "partykit/server.js";\nconst React = { createElement: () => "el" };\nexport default class Other { static compat = COMPAT; static jsx = <div/>; }\n`,
    "node_modules/local-dep/package.json": JSON.stringify({
      name: "local-dep",
      type: "module",
      exports: "./index.js",
    }),
    "node_modules/local-dep/index.js": `export const greet = (name) => "hello " + name;\n`,
    ".env": "PH_TEST_DOTENV_SECRET=from-dotenv\n",
    ...extra,
  });
  return root;
}

/** Replaces a file in one step, so the watcher never reads it half-written (editors do the same). */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

function configFor(root: string, extra: Partial<CliFlags> = {}) {
  return loadConfigSync({
    cwd: root,
    flags: { vars: {}, define: {}, mode: "dev", ...extra },
    env: {},
  });
}

async function importFresh(file: string): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

/** Collects rebuild events; `next()` waits for the following one. */
function eventQueue() {
  const events: RebuildEvent[] = [];
  const waiters: Array<(e: RebuildEvent) => void> = [];
  return {
    push(e: RebuildEvent) {
      const w = waiters.shift();
      if (w) w(e);
      else events.push(e);
    },
    next(timeoutMs = 15_000): Promise<RebuildEvent> {
      const ready = events.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no rebuild event")), timeoutMs);
        waiters.push((e) => {
          clearTimeout(timer);
          resolve(e);
        });
      });
    },
  };
}

describe("createBundler", () => {
  it("bundles TypeScript parties for Node, with partykit/server pointed at the compat entry", async () => {
    const root = makeProject();
    const bundler = await createBundler(configFor(root), { watch: false, compatEntry });
    bundlers.push(bundler);
    const { parties, version } = bundler.result;
    assert.equal(version, 1);
    assert.deepEqual(Object.keys(parties).sort(), ["main", "other"]);
    for (const file of Object.values(parties)) {
      assert.ok(file.startsWith(join(root, ".partykit", "build")), file);
      assert.ok(file.endsWith(".mjs"));
    }

    const main = await importFresh(parties["main"] as string);
    const Server = main["default"] as { marker: string; greeting: string };
    assert.equal(typeof Server, "function");
    assert.equal(Server.marker, "v1");
    assert.equal(Server.greeting, "hello party");
    assert.equal((main["compat"] as { COMPAT: string }).COMPAT, "partyhouse-compat");
    assert.equal(main["host"], "127.0.0.1:1999");
    assert.equal(main["defined"], 42);
    assert.equal(main["secret"], "from-dotenv");
    assert.equal(main["separator"], "/");

    const code = readFileSync(parties["main"] as string, "utf8");
    // The npm dependency stays external, resolved from the project's node_modules at run time,
    // and the compat entry is imported (shared), not copied into the bundle.
    assert.match(code, /from "local-dep"/);
    assert.ok(code.includes(pathToFileURL(compatEntry).href));
    assert.ok(!code.includes("partyhouse-compat"));

    const other = await importFresh(parties["other"] as string);
    assert.equal((other["default"] as { compat: string }).compat, "partyhouse-compat");
    assert.equal((other["default"] as { jsx: string }).jsx, "el");
  });

  it("rebuilds into a new file in watch mode and keeps watching after an error", async () => {
    const root = makeProject();
    const queue = eventQueue();
    const bundler = await createBundler(configFor(root), {
      watch: true,
      compatEntry,
      onRebuild: (e) => queue.push(e),
    });
    bundlers.push(bundler);
    const first = bundler.result.parties["main"] as string;

    replaceFile(join(root, "src/server.ts"), serverSource("v2"));
    const second = await queue.next();
    assert.ok(second.ok, second.ok ? "" : second.error.message);
    assert.equal(second.result.version, 2);
    const secondFile = second.result.parties["main"] as string;
    assert.notEqual(secondFile, first);
    assert.equal(((await importFresh(secondFile))["default"] as { marker: string }).marker, "v2");
    // The previous version stays for a moment (a room may still import it); older ones go.
    assert.ok(existsSync(first));

    replaceFile(join(root, "src/server.ts"), serverSource("v2") + "\nexport const broken = ;\n");
    const failed = await queue.next();
    assert.equal(failed.ok, false);
    if (!failed.ok) {
      assert.ok(failed.error instanceof PartyhouseError);
      assert.equal(failed.error.code, "PH_ERR_BUNDLE");
      assert.match(failed.error.message, /server\.ts/);
    }

    replaceFile(join(root, "src/server.ts"), serverSource("v3"));
    const third = await queue.next();
    assert.ok(third.ok);
    assert.equal(third.result.version, 3);
    assert.equal(
      ((await importFresh(third.result.parties["main"] as string))["default"] as { marker: string })
        .marker,
      "v3",
    );
    assert.ok(!existsSync(first), "version 1 is pruned once version 3 exists");
    assert.ok(existsSync(secondFile));
  });

  it("reports a syntax error as PH_ERR_BUNDLE naming the file", async () => {
    const root = makeProject({ "src/other.tsx": "export default class {\n  oops(\n}\n" });
    await assert.rejects(
      createBundler(configFor(root), { watch: false, compatEntry }),
      (e: unknown) => {
        assert.ok(e instanceof PartyhouseError);
        assert.equal(e.code, "PH_ERR_BUNDLE");
        assert.match(e.message, /src\/other\.tsx:\d+:\d+/);
        return true;
      },
    );
  });

  it("reports an unresolvable relative import as PH_ERR_BUNDLE", async () => {
    const root = makeProject({
      "src/other.tsx": `import x from "./missing";\nexport default x;\n`,
    });
    await assert.rejects(
      createBundler(configFor(root), { watch: false, compatEntry }),
      (e: unknown) =>
        e instanceof PartyhouseError &&
        e.code === "PH_ERR_BUNDLE" &&
        e.message.includes("./missing"),
    );
  });

  it("says so when the compat entry is missing", async () => {
    const root = makeProject();
    const missing = join(compatDir, "nope.js");
    await assert.rejects(
      createBundler(configFor(root), { watch: false, compatEntry: missing }),
      (e: unknown) =>
        e instanceof PartyhouseError && e.code === "PH_ERR_BUNDLE" && e.message.includes(missing),
    );
  });

  it("honours outDir and partykitHost, and lets define override PARTYKIT_HOST", async () => {
    const root = makeProject();
    const outDir = join(root, "out");
    const bundler = await createBundler(configFor(root), {
      watch: false,
      compatEntry,
      outDir,
      partykitHost: "h:1",
    });
    bundlers.push(bundler);
    assert.equal(dirname(bundler.result.parties["main"] as string), outDir);
    assert.equal((await importFresh(bundler.result.parties["main"] as string))["host"], "h:1");

    const overridden = await createBundler(
      configFor(root, { define: { PARTYKIT_HOST: '"example.com"' } }),
      {
        watch: false,
        compatEntry,
      },
    );
    bundlers.push(overridden);
    assert.equal(
      (await importFresh(overridden.result.parties["main"] as string))["host"],
      "example.com",
    );
  });

  it("removes outputs left by processes that are gone, and keeps live ones", async () => {
    const root = makeProject();
    const buildDir = join(root, ".partykit", "build");
    let deadPid = 999_999;
    while (isAlive(deadPid)) deadPid--;
    write(buildDir, {
      [`main.${deadPid}-1-v1.mjs`]: "export default 1;",
      [`main.${process.pid}-9999-v1.mjs`]: "export default 1;",
      "unrelated.txt": "keep",
    });
    const bundler = await createBundler(configFor(root), { watch: false, compatEntry });
    bundlers.push(bundler);
    const names = readdirSync(buildDir);
    assert.ok(!names.includes(`main.${deadPid}-1-v1.mjs`));
    assert.ok(names.includes(`main.${process.pid}-9999-v1.mjs`));
    assert.ok(names.includes("unrelated.txt"));
  });

  it("builds serve.build client entries into <serve.path>/dist for the browser", async () => {
    const root = makeProject({
      "partykit.json": JSON.stringify({
        main: "src/server.ts",
        serve: { path: "public", build: "app/client.ts" },
      }),
      "app/client.ts": `declare const PARTYKIT_HOST: string;\nexport const host: string = PARTYKIT_HOST;\nconsole.log(host);\n`,
    });
    const bundler = await createBundler(configFor(root), { watch: false, compatEntry });
    bundlers.push(bundler);
    const out = readFileSync(join(root, "public/dist/client.js"), "utf8");
    assert.ok(out.includes("127.0.0.1:1999"));
    assert.ok(existsSync(join(root, "public/dist/client.js.map")));
  });

  it("rejects a failing client build as PH_ERR_BUNDLE", async () => {
    const root = makeProject({
      "partykit.json": JSON.stringify({
        main: "src/server.ts",
        serve: { path: "public", build: "app/client.ts" },
      }),
      "app/client.ts": `export const = 1;\n`,
    });
    await assert.rejects(
      createBundler(configFor(root), { watch: false, compatEntry }),
      (e: unknown) =>
        e instanceof PartyhouseError &&
        e.code === "PH_ERR_BUNDLE" &&
        e.message.includes("serve.build"),
    );
  });

  it("runs build.command first, and fails with PH_ERR_BUNDLE when it fails", async () => {
    const root = makeProject({
      "partykit.json": JSON.stringify({
        main: "src/server.ts",
        build: {
          command: `node -e "require('fs').writeFileSync('built.txt', 'ok')"`,
          cwd: "tools",
        },
      }),
      "tools/.keep": "",
    });
    const bundler = await createBundler(configFor(root), { watch: false, compatEntry });
    bundlers.push(bundler);
    assert.equal(readFileSync(join(root, "tools/built.txt"), "utf8"), "ok");

    const failing = makeProject({
      "partykit.json": JSON.stringify({ main: "src/server.ts", build: { command: "exit 3" } }),
    });
    await assert.rejects(
      createBundler(configFor(failing), { watch: false, compatEntry }),
      (e: unknown) =>
        e instanceof PartyhouseError && e.code === "PH_ERR_BUNDLE" && e.message.includes("exit 3"),
    );
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
