import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { waitFor } from "../helpers.js";
import { killAll, repoRoot, runCli, startCli } from "./cli-helpers.js";

after(killAll);

// The project's npm install reads packages from the local cache first (they are partyhouse's
// own dependencies, so the cache has them); it still asks the registry for what is missing.
const npmEnv = { npm_config_prefer_offline: "true", npm_config_audit: "false" };

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function tsc(dir: string): { status: number | null; out: string } {
  const bin = join(dir, "node_modules/typescript/bin/tsc");
  const r = spawnSync(process.execPath, [bin, "--noEmit", "-p", dir], { encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe("partyhouse init", () => {
  it("creates a project whose npm install, tsc --noEmit and dev work from a checkout", async (t) => {
    const parent = tempDir("ph-init-fresh-");
    t.after(() => rmSync(parent, { recursive: true, force: true }));
    const init = await runCli(["init", "my-app"], parent, npmEnv);
    assert.equal(init.code, 0, init.out);
    const dir = join(parent, "my-app");
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const spec = pkg.dependencies.partyhouse!;
    assert.match(spec, /^file:/);
    assert.equal(realpathSync(resolve(dir, spec.slice(5))), realpathSync(repoRoot));
    // init ran npm install: partyhouse and the scaffold's dependencies are there.
    assert.ok(existsSync(join(dir, "node_modules/partyhouse/package.json")), init.out);
    assert.ok(existsSync(join(dir, "node_modules/partysocket/package.json")));

    // The scaffold type-checks without the partykit package, and Party.* are real types:
    // a wrong use is an error, not `any`.
    assert.ok(!existsSync(join(dir, "node_modules/partykit")));
    const ok = tsc(dir);
    assert.equal(ok.status, 0, ok.out);
    writeFileSync(
      join(dir, "src/wrong.ts"),
      `import type * as Party from "partykit/server";\nexport const id: number = ({} as Party.Room).id;\n`,
    );
    const wrong = tsc(dir);
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.out, /wrong\.ts.*Type 'string' is not assignable to type 'number'/s);
    rmSync(join(dir, "src/wrong.ts"));

    // A project without its own partysocket (it came with partyhouse) still bundles its page.
    rmSync(join(dir, "node_modules/partysocket"), { recursive: true, force: true });
    const dev = await startCli(["dev", "-p", "0"], dir);
    let script = "";
    await waitFor(
      async () => {
        const res = await fetch(dev.url + "/dist/client.js");
        script = await res.text();
        return res.status === 200;
      },
      30000,
      "the client bundle",
    );
    assert.match(script, /PartySocket|partysocket/i);
    assert.doesNotMatch(dev.output(), /Could not resolve/);
    dev.child.kill("SIGTERM");
    assert.equal((await dev.exited).code, 0);
  });

  it("adds partyhouse to an existing project: package.json merged, files kept", async (t) => {
    const dir = tempDir("ph-init-existing-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({
        name: "mine",
        version: "1.2.3",
        scripts: { dev: "my own dev", test: "my tests" },
        dependencies: { "left-pad": "1.3.0" },
      }),
    );
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src/server.ts"), "// my party\n");
    const init = await runCli(["init", "--no-install"], dir);
    assert.equal(init.code, 0, init.out);
    assert.match(init.out, /kept src\/server\.ts/);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      name: string;
      version: string;
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    assert.equal(pkg.name, "mine");
    assert.equal(pkg.version, "1.2.3");
    assert.deepEqual(pkg.scripts, {
      dev: "my own dev",
      test: "my tests",
      build: "partyhouse build",
      start: "partyhouse start",
      typecheck: "tsc --noEmit",
    });
    assert.equal(pkg.dependencies["left-pad"], "1.3.0");
    assert.match(pkg.dependencies.partyhouse!, /^file:/);
    assert.ok(pkg.dependencies.partysocket);
    assert.equal(readFileSync(join(dir, "src/server.ts"), "utf8"), "// my party\n");
    assert.ok(existsSync(join(dir, "partykit.json")));
    assert.ok(existsSync(join(dir, "tsconfig.json")));
  });

  it("refuses a package.json that is not JSON, with a code", async (t) => {
    const dir = tempDir("ph-init-bad-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "package.json"), "{ nope");
    const init = await runCli(["init", "--no-install"], dir);
    assert.equal(init.code, 1);
    assert.match(init.out, /PH_ERR_CONFIG.*package\.json/);
    assert.equal(readFileSync(join(dir, "package.json"), "utf8"), "{ nope");
  });
});
