import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadConfigSync } from "../../src/config/load.js";
import { PartyhouseError } from "../../src/core/errors.js";
import { cleanup, flags, project, SERVER } from "./project.js";

after(cleanup);

/** Loads a partykit.json holding `main: "s.ts"` plus `extra`, expecting PH_ERR_CONFIG. */
function configError(extra: Record<string, unknown>, fileName = "partykit.json"): string {
  const dir = project({ [fileName]: JSON.stringify({ main: "s.ts", ...extra }), "s.ts": SERVER });
  try {
    loadConfigSync({ cwd: dir, flags: flags(), env: {} });
  } catch (e) {
    assert.ok(e instanceof PartyhouseError, `expected a PartyhouseError, got ${String(e)}`);
    assert.equal(e.code, "PH_ERR_CONFIG");
    return e.message;
  }
  assert.fail(`config ${JSON.stringify(extra)} should have been refused`);
}

// [config fragment, texts the message must contain]
const cases: Array<[Record<string, unknown>, string[]]> = [
  [{ foo: 1 }, [`unknown field "foo"`, "allowed fields", "main", "serve", "limits"]],
  [{ main: 1 }, ["main must be a string, got 1"]],
  [{ name: 5 }, ["name must be a string"]],
  [{ name: "my app" }, ["name must contain only"]],
  [{ team: true }, ["team must be a string"]],
  [{ port: "1999" }, [`port must be an integer, got "1999"`]],
  [{ port: 1.5 }, ["port must be an integer"]],
  [{ port: 70000 }, ["port must be at most 65535"]],
  [{ port: -1 }, ["port must be an integer, got -1"]],
  [{ preview: 1 }, ["preview must be a string"]],
  [{ serve: 5 }, ["serve must be a string or an object, got 5"]],
  [{ serve: { singlePageApp: "yes" } }, [`serve.singlePageApp must be a boolean, got "yes"`]],
  [{ serve: { path: "p", foo: 1 } }, [`unknown field "serve.foo"`, "in serve", "singlePageApp"]],
  [{ serve: { path: 3 } }, ["serve.path must be a string"]],
  [{ serve: { browserTTL: "1" } }, ["serve.browserTTL must be a number or null"]],
  [{ serve: { edgeTTL: true } }, ["serve.edgeTTL must be a number or null"]],
  [{ serve: { include: "x" } }, ["serve.include must be an array"]],
  [{ serve: { exclude: [1] } }, ["serve.exclude[0] must be a string"]],
  [{ serve: { build: 1 } }, ["serve.build must be a string or an object"]],
  [{ serve: { build: { entry: 1 } } }, ["serve.build.entry must be a string or an array"]],
  [{ serve: { build: { entry: ["a", 2] } } }, ["serve.build.entry[1] must be a string"]],
  [
    { serve: { build: { format: "umd" } } },
    [`serve.build.format must be one of "esm", "cjs", "iife", got "umd"`],
  ],
  [{ serve: { build: { loader: { ".x": "nope" } } } }, ["serve.build.loader..x must be one of"]],
  [{ serve: { build: { bundle: "yes" } } }, ["serve.build.bundle must be a boolean"]],
  [{ serve: { build: { splitting: 1 } } }, ["serve.build.splitting must be a boolean"]],
  [{ serve: { build: { minify: 1 } } }, ["serve.build.minify must be a boolean"]],
  [{ serve: { build: { live: 1 } } }, ["serve.build.live must be a boolean"]],
  [{ serve: { build: { sourcemap: "inline" } } }, ["serve.build.sourcemap must be a boolean"]],
  [{ serve: { build: { external: "react" } } }, ["serve.build.external must be an array"]],
  [{ serve: { build: { outdir: false } } }, ["serve.build.outdir must be a string"]],
  [{ serve: { build: { alias: { a: 1 } } } }, ["serve.build.alias.a must be a string"]],
  [{ serve: { build: { define: { A: 1 } } } }, ["serve.build.define.A must be a string"]],
  [{ serve: { build: { watch: true } } }, [`unknown field "serve.build.watch"`]],
  [{ persist: 5 }, ["persist must be a boolean or a string, got 5"]],
  [{ vars: [] }, ["vars must be an object, got an array"]],
  [{ vars: "A=1" }, ["vars must be an object"]],
  [{ define: { A: 1 } }, ["define.A must be a string, got 1"]],
  [{ parties: { other: 1 } }, ["parties.other must be a string"]],
  [{ parties: { Other: "s.ts" } }, ["parties.Other", "lowercase"]],
  [{ parties: { "a/b": "s.ts" } }, ["parties.a/b", "may use only"]],
  [{ parties: { main: "s.ts" } }, ["parties.main is not allowed"]],
  [{ crons: { hourly: 5 } }, ["crons.hourly must be a string"]],
  [
    { crons: { hourly: "* *" } },
    ["crons.hourly must be a cron expression of 5 or 6 fields", `"* *"`],
  ],
  [{ crons: { x: "* * * * * * *" } }, ["crons.x must be a cron expression"]],
  [{ build: { command: 1 } }, ["build.command must be a string"]],
  [{ build: { cwd: 1 } }, ["build.cwd must be a string"]],
  [{ build: { watch: 1 } }, ["build.watch must be a string or an array"]],
  [{ build: { alias: [] } }, ["build.alias must be an object"]],
  [{ build: { minify: true } }, [`unknown field "build.minify"`, "command, cwd, watch, alias"]],
  [{ compatibilityDate: 2024 }, ["compatibilityDate must be a string"]],
  [{ compatibilityFlags: "nodejs_compat" }, ["compatibilityFlags must be an array"]],
  [{ minify: "yes" }, ["minify must be a boolean"]],
  [{ ai: "yes" }, ["ai must be a boolean or an object"]],
  [{ ai: { apiToken: 1 } }, ["ai.apiToken must be a string"]],
  [{ ai: { model: "x" } }, [`unknown field "ai.model"`]],
  [{ domain: 1 }, ["domain must be a string"]],
  [{ vectorize: { a: 1 } }, ["vectorize.a must be a string or an object"]],
  [{ vectorize: { a: {} } }, ["vectorize.a.index_name is required"]],
  [{ logpush: "yes" }, ["logpush must be a boolean"]],
  [{ tailConsumers: [1] }, ["tailConsumers[0] must be a string"]],
  [{ analytics: {} }, ["analytics must be a string"]],
  [{ bindings: { d1: {} } }, [`unknown field "bindings.d1"`, "r2, kv"]],
  [{ bindings: { kv: { a: 1 } } }, ["bindings.kv.a must be a string"]],
  [{ placement: {} }, ["placement.mode is required"]],
  [{ placement: { mode: "fast" } }, [`placement.mode must be one of "smart"`]],
  [{ observability: { enabled: "yes" } }, ["observability.enabled must be a boolean"]],
  [
    { observability: { head_sampling_rate: "1" } },
    ["observability.head_sampling_rate must be a number"],
  ],
  [
    { limits: { maxMessageBytes: 0 } },
    ["limits.maxMessageBytes must be a positive integer, got 0"],
  ],
  [{ limits: { idleTimeoutMs: 1.5 } }, ["limits.idleTimeoutMs must be a positive integer"]],
  [{ limits: { maxFoo: 1 } }, [`unknown field "limits.maxFoo"`, "maxMessageBytes"]],
  [
    { limits: { maxConnectionsPerIp: 0 } },
    ["limits.maxConnectionsPerIp must be a positive integer, got 0"],
  ],
  [{ limits: { startTimeoutMs: "30s" } }, ["limits.startTimeoutMs must be a positive integer"]],
  [{ limits: { heartbeatIntervalMs: -1 } }, ["limits.heartbeatIntervalMs must be an integer"]],
  [{ $schema: 1 }, ["$schema must be a string"]],
];

describe("config validation", () => {
  for (const [fragment, needles] of cases) {
    it(`refuses ${JSON.stringify(fragment)}`, () => {
      const message = configError(fragment);
      assert.ok(message.startsWith("partykit.json: "), `"${message}" should name the file`);
      for (const needle of needles) {
        assert.ok(
          message.includes(needle),
          `"${message}" should mention ${JSON.stringify(needle)}`,
        );
      }
    });
  }

  it("names package.json#partykit as the source", () => {
    const dir = project({
      "package.json": JSON.stringify({ partykit: { main: "s.ts", port: "x" } }),
      "s.ts": SERVER,
    });
    assert.throws(
      () => loadConfigSync({ cwd: dir, flags: flags(), env: {} }),
      (e: unknown) =>
        e instanceof PartyhouseError &&
        e.code === "PH_ERR_CONFIG" &&
        e.message.startsWith("package.json#partykit: port"),
    );
  });

  it("refuses a package.json#partykit that is not an object", () => {
    const dir = project({ "package.json": JSON.stringify({ partykit: "s.ts" }) });
    assert.throws(
      () => loadConfigSync({ cwd: dir, flags: flags(), env: {} }),
      (e: unknown) =>
        e instanceof PartyhouseError &&
        e.code === "PH_ERR_CONFIG" &&
        e.message.includes("must be an object"),
    );
  });

  it("refuses a config that is not an object", () => {
    const dir = project({ "partykit.json": "[1]" });
    assert.throws(
      () => loadConfigSync({ cwd: dir, flags: flags(), env: {} }),
      (e: unknown) =>
        e instanceof PartyhouseError && e.message.includes("the config must be an object"),
    );
  });

  it("reports JSON5 syntax errors with the file name", () => {
    const dir = project({ "partykit.json": `{"main": "s.ts",,}` });
    assert.throws(
      () => loadConfigSync({ cwd: dir, flags: flags(), env: {} }),
      (e: unknown) =>
        e instanceof PartyhouseError &&
        e.code === "PH_ERR_CONFIG" &&
        e.message.includes("partykit.json is not valid JSON5"),
    );
  });
});
