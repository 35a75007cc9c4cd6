import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig, loadConfigSync } from "../../src/config/load.js";
import type { LoadConfigOptions } from "../../src/config/load.js";
import { PartyhouseError } from "../../src/core/errors.js";
import type { ErrorCode } from "../../src/core/errors.js";
import { defaultLimits } from "../../src/core/limits.js";
import { cleanup, flags, project, SERVER } from "./project.js";

after(cleanup);

function load(cwd: string, extra: Partial<LoadConfigOptions> = {}) {
  return loadConfigSync({ cwd, flags: flags(), env: {}, ...extra });
}

function assertFails(fn: () => unknown, code: ErrorCode, ...needles: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PartyhouseError, `expected a PartyhouseError, got ${String(e)}`);
    assert.equal(e.code, code);
    for (const needle of needles)
      assert.ok(e.message.includes(needle), `"${e.message}" should mention "${needle}"`);
    return true;
  });
}

describe("config discovery", () => {
  it("reads partykit.json and resolves main against its folder", async () => {
    const dir = project({
      "partykit.json": `{"name":"app","main":"src/server.ts"}`,
      "src/server.ts": SERVER,
    });
    const config = await loadConfig({ cwd: dir, flags: flags(), env: {} });
    assert.equal(config.root, dir);
    assert.equal(config.configPath, join(dir, "partykit.json"));
    assert.equal(config.name, "app");
    assert.equal(config.main, join(dir, "src/server.ts"));
    assert.deepEqual({ ...config.parties }, { main: join(dir, "src/server.ts") });
  });

  it("reads partykit.json5 with comments, unquoted keys and trailing commas", () => {
    const dir = project({
      "partykit.json5": `// a comment\n{ main: 'server.ts', port: 3000, }`,
      "server.ts": SERVER,
    });
    const config = load(dir);
    assert.equal(config.configPath, join(dir, "partykit.json5"));
    assert.equal(config.port, 3000);
  });

  it("reads partykit.jsonc", () => {
    const dir = project({
      "partykit.jsonc": `{ /* c */ "main": "server.ts", }`,
      "server.ts": SERVER,
    });
    assert.equal(load(dir).configPath, join(dir, "partykit.jsonc"));
  });

  it("reads package.json#partykit when there is no partykit.json*", () => {
    const dir = project({
      "package.json": JSON.stringify({ name: "x", partykit: { main: "server.ts", port: 4000 } }),
      "server.ts": SERVER,
    });
    const config = load(dir);
    assert.equal(config.configPath, join(dir, "package.json"));
    assert.equal(config.port, 4000);
  });

  it("prefers partykit.json over partykit.json5 and package.json", () => {
    const dir = project({
      "partykit.json": `{"main":"a.ts"}`,
      "partykit.json5": `{main:"b.ts"}`,
      "package.json": JSON.stringify({ partykit: { main: "b.ts" } }),
      "a.ts": SERVER,
      "b.ts": SERVER,
    });
    assert.equal(load(dir).main, join(dir, "a.ts"));
  });

  it("ignores a package.json without a partykit field", () => {
    const dir = project({ "package.json": `{"name":"x"}` });
    assertFails(() => load(dir), "PH_ERR_CONFIG", "No partykit.json", "main");
  });

  it("reads -c/--config relative to cwd, with paths relative to that file", () => {
    const dir = project({ "sub/custom.json": `{"main":"server.ts"}`, "sub/server.ts": SERVER });
    const config = load(dir, { configPath: "sub/custom.json" });
    assert.equal(config.root, join(dir, "sub"));
    assert.equal(config.main, join(dir, "sub/server.ts"));
  });

  it("fails when --config names a missing file", () => {
    const dir = project({});
    assertFails(() => load(dir, { configPath: "nope.json" }), "PH_ERR_CONFIG", "nope.json");
  });

  it("runs without a config file when the entry is on the command line", () => {
    const dir = project({ "server.ts": SERVER });
    const config = load(dir, { flags: flags({ entry: "server.ts" }) });
    assert.equal(config.root, dir);
    assert.equal(config.configPath, undefined);
    assert.equal(config.main, join(dir, "server.ts"));
  });

  it("says how to fix a config without main", () => {
    const dir = project({ "partykit.json": `{"name":"x"}` });
    assertFails(
      () => load(dir),
      "PH_ERR_CONFIG",
      `"main" is missing`,
      "partyhouse dev src/server.ts",
    );
  });

  it("lets the entry argument replace main, resolved against cwd", () => {
    const dir = project({ "partykit.json": `{"main":"a.ts"}`, "a.ts": SERVER, "b.ts": SERVER });
    assert.equal(load(dir, { flags: flags({ entry: "b.ts" }) }).main, join(dir, "b.ts"));
  });
});

describe("party entries", () => {
  it("resolves parties against the config folder and always includes main", () => {
    const dir = project({
      "partykit.json": `{"main":"src/main.ts","parties":{"other":"src/other.ts","chat-room":"src/chat.ts"}}`,
      "src/main.ts": SERVER,
      "src/other.ts": SERVER,
      "src/chat.ts": SERVER,
    });
    assert.deepEqual(
      { ...load(dir).parties },
      {
        main: join(dir, "src/main.ts"),
        other: join(dir, "src/other.ts"),
        "chat-room": join(dir, "src/chat.ts"),
      },
    );
  });

  it("names a missing main entry", () => {
    const dir = project({ "partykit.json": `{"main":"src/missing.ts"}` });
    assertFails(() => load(dir), "PH_ERR_ENTRY_NOT_FOUND", `"main"`, join(dir, "src/missing.ts"));
  });

  it("names a missing party entry", () => {
    const dir = project({
      "partykit.json": `{"main":"a.ts","parties":{"other":"gone.ts"}}`,
      "a.ts": SERVER,
    });
    assertFails(
      () => load(dir),
      "PH_ERR_ENTRY_NOT_FOUND",
      `"other"`,
      "parties.other",
      join(dir, "gone.ts"),
    );
  });

  it("refuses a directory as an entry", () => {
    const dir = project({ "partykit.json": `{"main":"src"}`, "src/x.ts": SERVER });
    assertFails(() => load(dir), "PH_ERR_ENTRY_NOT_FOUND", "main");
  });
});

describe("vars, .env and define", () => {
  const files = {
    "partykit.json": JSON.stringify({
      main: "s.ts",
      vars: { A: "config", B: "config", C: "config", D: "config", OBJ: { x: [1, true] }, N: 5 },
      define: { X: "1", Y: "2" },
    }),
    "s.ts": SERVER,
    ".env": "B=env\nC=env\nD=env\nONLY_ENV=yes\n",
    ".env.local": "C=local\nD=local\n",
  };

  it("layers config vars, .env, .env.local and --var in that order (dev)", () => {
    const dir = project(files);
    const config = load(dir, { flags: flags({ vars: { D: "flag" } }) });
    assert.deepEqual(
      { ...config.vars },
      {
        A: "config",
        B: "env",
        C: "local",
        D: "flag",
        OBJ: { x: [1, true] },
        N: 5,
        ONLY_ENV: "yes",
      },
    );
    assert.deepEqual({ ...config.dotenv }, { B: "env", C: "local", D: "local", ONLY_ENV: "yes" });
  });

  it("reads .env but not .env.local in start mode", () => {
    const dir = project(files);
    const config = load(dir, { flags: flags({ mode: "start" }) });
    assert.equal(config.vars["C"], "env");
    assert.equal(config.vars["D"], "env");
  });

  it("layers --define over the config's define", () => {
    const dir = project(files);
    const config = load(dir, { flags: flags({ define: { Y: "3", Z: '"z"' } }) });
    assert.deepEqual({ ...config.define }, { X: "1", Y: "3", Z: '"z"' });
  });

  it("defines every .env variable as a string with --with-env", () => {
    const dir = project(files);
    const config = load(dir, { flags: flags({ withEnv: true, define: { B: "0" } }) });
    assert.equal(config.define["ONLY_ENV"], '"yes"');
    assert.equal(config.define["C"], '"local"');
    assert.equal(config.define["B"], "0");
  });
});

describe("port, host and persist", () => {
  const base = { "partykit.json": `{"main":"s.ts"}`, "s.ts": SERVER };

  it("uses 1999 and 127.0.0.1 in dev by default, even when PORT and HOST are set", () => {
    const dir = project(base);
    const config = load(dir, { env: { PORT: "8080", HOST: "0.0.0.0" } });
    assert.equal(config.port, 1999);
    assert.equal(config.host, "127.0.0.1");
  });

  it("takes the port from the config, and the flag over it", () => {
    const dir = project({ ...base, "partykit.json": `{"main":"s.ts","port":3000}` });
    assert.equal(load(dir).port, 3000);
    assert.equal(load(dir, { flags: flags({ port: 4000 }) }).port, 4000);
  });

  it("takes PORT and HOST from the environment in start mode", () => {
    const dir = project({ ...base, "partykit.json": `{"main":"s.ts","port":3000}` });
    const config = load(dir, {
      flags: flags({ mode: "start" }),
      env: { PORT: "8080", HOST: "::" },
    });
    assert.equal(config.port, 8080);
    assert.equal(config.host, "::");
    const flagged = load(dir, {
      flags: flags({ mode: "start", port: 9000, host: "10.0.0.1" }),
      env: { PORT: "8080", HOST: "::" },
    });
    assert.equal(flagged.port, 9000);
    assert.equal(flagged.host, "10.0.0.1");
  });

  it("binds 0.0.0.0 and uses config port then 1999 in start mode without PORT/HOST", () => {
    const dir = project(base);
    const config = load(dir, { flags: flags({ mode: "start" }) });
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.port, 1999);
  });

  it("rejects a bad PORT variable", () => {
    const dir = project(base);
    assertFails(
      () => load(dir, { flags: flags({ mode: "start" }), env: { PORT: "http" } }),
      "PH_ERR_CONFIG",
      "PORT",
    );
  });

  it("persists to <root>/.partykit/state by default", () => {
    const dir = project(base);
    assert.deepEqual(load(dir).persist, {
      kind: "sqlite",
      path: join(dir, ".partykit/state/partyhouse.sqlite3"),
    });
    assert.deepEqual(load(dir, { flags: flags({ persist: true }) }).persist, {
      kind: "sqlite",
      path: join(dir, ".partykit/state/partyhouse.sqlite3"),
    });
  });

  it("keeps storage in PostgreSQL with --database or PARTYHOUSE_DATABASE_URL", () => {
    const dir = project(base);
    const url = "postgres://u:p@db:5432/app";
    const pg = { kind: "postgres", url };
    assert.deepEqual(load(dir, { flags: flags({ database: url }) }).persist, pg);
    assert.deepEqual(load(dir, { env: { PARTYHOUSE_DATABASE_URL: url } }).persist, pg);
    const other = "postgresql://elsewhere/db";
    assert.deepEqual(
      load(dir, { flags: flags({ database: other }), env: { PARTYHOUSE_DATABASE_URL: url } })
        .persist,
      { kind: "postgres", url: other },
      "the flag wins over the variable",
    );
    assert.deepEqual(
      load(dir, { flags: flags({ persist: false }), env: { PARTYHOUSE_DATABASE_URL: url } })
        .persist,
      { kind: "memory" },
      "an explicit --persist wins over the variable",
    );
    assert.equal(load(dir, { env: { PARTYHOUSE_DATABASE_URL: "" } }).persist.kind, "sqlite");
    assertFails(
      () => load(dir, { flags: flags({ database: url, persist: "data" }) }),
      "PH_ERR_CONFIG",
      "--database and --persist",
    );
    assertFails(
      () => load(dir, { flags: flags({ database: "db.sqlite" }) }),
      "PH_ERR_CONFIG",
      "--database must be a PostgreSQL URL",
    );
    assertFails(
      () => load(dir, { env: { PARTYHOUSE_DATABASE_URL: "mysql://u:secret@h/db" } }),
      "PH_ERR_CONFIG",
      "PARTYHOUSE_DATABASE_URL",
      "mysql://u:***@h/db",
    );
  });

  it("keeps state in memory with --persist false or persist: false", () => {
    const dir = project(base);
    assert.deepEqual(load(dir, { flags: flags({ persist: false }) }).persist, { kind: "memory" });
    const off = project({ ...base, "partykit.json": `{"main":"s.ts","persist":false}` });
    assert.deepEqual(load(off).persist, { kind: "memory" });
    const offString = project({ ...base, "partykit.json": `{"main":"s.ts","persist":"false"}` });
    assert.deepEqual(load(offString).persist, { kind: "memory" });
  });

  it("reads a --persist path against cwd and a config path against the config folder", () => {
    const dir = project({
      "app/partykit.json": `{"main":"s.ts","persist":"data"}`,
      "app/s.ts": SERVER,
    });
    const fromFile = load(dir, { configPath: "app/partykit.json" });
    assert.deepEqual(fromFile.persist, {
      kind: "sqlite",
      path: join(dir, "app/data/partyhouse.sqlite3"),
    });
    const fromFlag = load(dir, {
      configPath: "app/partykit.json",
      flags: flags({ persist: "state" }),
    });
    assert.deepEqual(fromFlag.persist, {
      kind: "sqlite",
      path: join(dir, "state/partyhouse.sqlite3"),
    });
  });
});

describe("serve", () => {
  it("normalizes a path string with PartyKit's defaults", () => {
    const dir = project({ "partykit.json": `{"main":"s.ts","serve":"public"}`, "s.ts": SERVER });
    assert.deepEqual(load(dir).serve, {
      path: join(dir, "public"),
      singlePageApp: false,
      browserTTL: null,
      edgeTTL: null,
      include: [],
      exclude: [],
    });
  });

  it("normalizes a client build with the outdir defaulting to <serve.path>/dist", () => {
    const dir = project({
      "partykit.json": JSON.stringify({
        main: "s.ts",
        serve: { path: "public", singlePageApp: true, browserTTL: 60, build: "app/client.ts" },
      }),
      "s.ts": SERVER,
    });
    const serve = load(dir).serve;
    assert.equal(serve?.singlePageApp, true);
    assert.equal(serve?.browserTTL, 60);
    assert.deepEqual(serve?.build, {
      entryPoints: [join(dir, "app/client.ts")],
      outdir: join(dir, "public/dist"),
      bundle: true,
      splitting: true,
      format: "esm",
      sourcemap: true,
      external: [],
      alias: {},
      define: {},
      loader: {},
      live: false,
    });
  });

  it("does not split non-ESM client builds unless asked", () => {
    const dir = project({
      "partykit.json": JSON.stringify({
        main: "s.ts",
        serve: {
          path: "p",
          build: { entry: ["a.ts", "b.ts"], format: "iife", minify: true, outdir: "out" },
        },
      }),
      "s.ts": SERVER,
    });
    const build = load(dir).serve?.build;
    assert.equal(build?.splitting, false);
    assert.equal(build?.minify, true);
    assert.equal(build?.outdir, join(dir, "out"));
    assert.equal(build?.entryPoints.length, 2);
  });

  it("lets --serve replace the config's serve, relative to cwd", () => {
    const dir = project({
      "partykit.json": `{"main":"s.ts","serve":{"path":"public","singlePageApp":true}}`,
      "s.ts": SERVER,
    });
    const serve = load(dir, { flags: flags({ serve: "other" }) }).serve;
    assert.equal(serve?.path, join(dir, "other"));
    assert.equal(serve?.singlePageApp, false);
  });

  it("serves nothing for a serve object without path, as PartyKit", () => {
    const dir = project({
      "partykit.json": `{"main":"s.ts","serve":{"singlePageApp":true}}`,
      "s.ts": SERVER,
    });
    assert.equal(load(dir).serve, undefined);
  });
});

describe("the resolved config", () => {
  it("merges limits over the defaults", () => {
    const dir = project({
      "partykit.json": `{"main":"s.ts","limits":{"maxMessageBytes":1024}}`,
      "s.ts": SERVER,
    });
    assert.deepEqual({ ...load(dir).limits }, { ...defaultLimits, maxMessageBytes: 1024 });
  });

  it("accepts every hardening limit, and 0 to turn the heartbeat off", () => {
    const hardening = {
      headersTimeoutMs: 5000,
      requestTimeoutMs: 10000,
      heartbeatIntervalMs: 0,
      heartbeatTimeoutMs: 1000,
      maxConnections: 100,
      maxConnectionsPerIp: 10,
      maxPendingMessages: 5,
      maxPendingBytes: 1024,
      startTimeoutMs: 1000,
      connectTimeoutMs: 1000,
    };
    const dir = project({
      "partykit.json": JSON.stringify({ main: "s.ts", limits: hardening }),
      "s.ts": SERVER,
    });
    assert.deepEqual({ ...load(dir).limits }, { ...defaultLimits, ...hardening });
  });

  it("keeps crons, build.command and build.alias", () => {
    const dir = project({
      "partykit.json": JSON.stringify({
        main: "s.ts",
        crons: { hourly: "0 * * * *", everySecond: "* * * * * *" },
        build: { command: "echo hi", cwd: "tools", alias: { foo: "./bar.ts" } },
        minify: true,
      }),
      "s.ts": SERVER,
    });
    const config = load(dir);
    assert.deepEqual({ ...config.crons }, { hourly: "0 * * * *", everySecond: "* * * * * *" });
    assert.deepEqual(config.buildCommand, { command: "echo hi", cwd: join(dir, "tools") });
    assert.deepEqual({ ...config.alias }, { foo: "./bar.ts" });
    assert.equal(config.minify, true);
  });

  it("is deeply frozen", () => {
    const dir = project({
      "partykit.json": `{"main":"s.ts","vars":{"o":{"deep":1}},"serve":"public"}`,
      "s.ts": SERVER,
    });
    const config = load(dir);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.parties));
    assert.ok(Object.isFrozen(config.limits));
    assert.ok(Object.isFrozen(config.vars["o"]));
    assert.ok(Object.isFrozen(config.serve));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
  });

  it("accepts every PartyKit field it does not use", () => {
    const dir = project({
      "partykit.json": JSON.stringify({
        $schema: "https://www.partykit.io/schema.json",
        team: "t",
        name: "my-app",
        main: "s.ts",
        preview: "p",
        compatibilityDate: "2024-01-01",
        compatibilityFlags: ["nodejs_compat"],
        minify: false,
        ai: { apiGateway: "g", apiToken: "t", apiAccount: "a" },
        domain: "example.com",
        vectorize: { a: "idx", b: { index_name: "idx2" } },
        logpush: true,
        tailConsumers: ["tail"],
        analytics: "ds",
        bindings: { r2: { b: "bucket" }, kv: { k: "ns" } },
        placement: { mode: "smart" },
        observability: { enabled: true, head_sampling_rate: 0.5 },
        build: { command: "true", cwd: ".", watch: ["src"], alias: {} },
      }),
      "s.ts": SERVER,
    });
    assert.equal(load(dir).name, "my-app");
  });
});
