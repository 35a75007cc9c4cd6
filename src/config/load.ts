/**
 * loadConfig: reads partykit.json (or its siblings), validates it, merges the .env files and the
 * command line, and returns one frozen ResolvedConfig. This is the only place config is checked;
 * every other layer trusts what it returns.
 */
import { statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { PartyhouseError } from "../core/errors.js";
import { defaultLimits } from "../core/limits.js";
import { checkPostgresUrl } from "../storage/postgres-url.js";
import { readConfigSource } from "./discover.js";
import { loadDotenvFiles } from "./dotenv.js";
import { configSchema } from "./schema.js";
import type { ConfigJson } from "./schema.js";
import { resolveServe } from "./serve.js";
import type { CliFlags, JsonValue, PersistConfig, ResolvedConfig } from "./types.js";
import { show, validate } from "./validate.js";

export interface LoadConfigOptions {
  /** Where the command runs; the config file is looked for here, and flag paths are read from here. */
  cwd: string;
  /** `-c/--config`, relative to `cwd`. */
  configPath?: string;
  flags: CliFlags;
  /** The environment `PORT`/`HOST` are read from in start mode; `process.env` by default. */
  env?: Readonly<Record<string, string | undefined>>;
}

export const DEFAULT_PORT = 1999;
/** The file name of the SQLite database inside the persist directory. */
export const SQLITE_FILE_NAME = "partyhouse.sqlite3";

function fail(message: string): never {
  throw new PartyhouseError("PH_ERR_CONFIG", message);
}

/**
 * Loads and resolves the project config. See `loadConfigSync` for the rules.
 *
 * @example
 * const config = await loadConfig({ cwd: process.cwd(), flags: { vars: {}, define: {}, mode: "dev" } });
 * config.parties.main; // "/abs/path/src/server.ts"
 */
export async function loadConfig(options: LoadConfigOptions): Promise<ResolvedConfig> {
  return loadConfigSync(options);
}

/**
 * Loads and resolves the project config synchronously.
 *
 * - Discovery: `configPath`, else partykit.json, partykit.json5, partykit.jsonc, then
 *   package.json#partykit in `cwd`. Paths in the file are relative to the file's folder.
 * - `vars`: the config's, then .env, then .env.local (dev only), then `--var`.
 * - `port`: dev: flag, config, 1999. start: flag, `PORT`, config, 1999.
 * - `host`: flag; start: `HOST`, else 0.0.0.0; dev: 127.0.0.1.
 * - `persist`: `false` → memory; a directory → `<dir>/partyhouse.sqlite3`;
 *   default `<root>/.partykit/state/partyhouse.sqlite3`. `--database <url>`, else
 *   `PARTYHOUSE_DATABASE_URL`, → PostgreSQL instead (a `--persist` flag wins over the variable).
 *
 * Throws PH_ERR_CONFIG naming the field, or PH_ERR_ENTRY_NOT_FOUND naming the party.
 */
export function loadConfigSync(options: LoadConfigOptions): ResolvedConfig {
  const { flags } = options;
  const cwd = resolve(options.cwd);
  const env = options.env ?? process.env;
  const source = readConfigSource(cwd, options.configPath);
  const label = source?.label ?? "partykit.json";
  let json: ConfigJson = {};
  if (source) {
    validate(configSchema, source.value, source.label);
    json = source.value as ConfigJson;
    checkRules(json, source.label);
  }
  const root = source ? dirname(source.path) : cwd;

  const main = resolveMain(json, flags, cwd, root, source?.label);
  const parties: Record<string, string> = { main };
  for (const [name, entry] of Object.entries(json.parties ?? {})) {
    parties[name] = resolve(root, entry);
  }
  for (const [name, file] of Object.entries(parties)) {
    if (isFile(file)) continue;
    const where =
      name !== "main"
        ? `parties.${name} in ${label}`
        : flags.entry !== undefined
          ? "the entry argument"
          : `main in ${label}`;
    throw new PartyhouseError(
      "PH_ERR_ENTRY_NOT_FOUND",
      `Party "${name}": entry file not found: ${file} (from ${where}).`,
    );
  }

  const dotenv = loadDotenvFiles(root, flags.mode === "dev").vars;
  const vars: Record<string, JsonValue> = { ...json.vars, ...dotenv, ...flags.vars };
  const define: Record<string, string> = {
    // PartyKit's --with-env: every .env variable also becomes a string constant.
    ...(flags.withEnv
      ? Object.fromEntries(Object.entries(dotenv).map(([k, v]) => [k, JSON.stringify(v)]))
      : {}),
    ...json.define,
    ...flags.define,
  };

  const config: ResolvedConfig = {
    mode: flags.mode,
    root,
    main,
    parties,
    vars,
    dotenv,
    define,
    port: resolvePort(json, flags, env),
    host: resolveHost(flags, env),
    persist: resolveDatabase(flags, env) ?? resolvePersist(json, flags, cwd, root),
    crons: json.crons ?? {},
    limits: { ...defaultLimits, ...json.limits },
    minify: json.minify ?? false,
    alias: json.build?.alias ?? {},
  };
  if (source) config.configPath = source.path;
  if (json.name !== undefined) config.name = json.name;
  if (json.ai !== undefined) config.ai = typeof json.ai === "object" ? { ...json.ai } : json.ai;
  // `--serve` replaces the whole field (PartyKit merges overrides over the file the same way).
  const serve =
    flags.serve !== undefined ? resolveServe(flags.serve, cwd) : resolveServe(json.serve, root);
  if (serve) config.serve = serve;
  if (json.build?.command !== undefined) {
    config.buildCommand = {
      command: json.build.command,
      cwd: resolve(root, json.build.cwd ?? "."),
    };
  }
  return deepFreeze(config);
}

/** Rules the schema cannot say, each as PartyKit enforces it. */
function checkRules(json: ConfigJson, label: string): void {
  if (json.name !== undefined && !/^[a-zA-Z0-9-]+$/.test(json.name)) {
    fail(
      `${label}: name must contain only letters, digits and "-" (it is a URL path), got ${show(json.name)}`,
    );
  }
  for (const name of Object.keys(json.parties ?? {})) {
    if (name === "main") {
      fail(
        `${label}: parties.main is not allowed: "main" is the party of the "main" field; rename it`,
      );
    }
    if (name !== name.toLowerCase())
      fail(`${label}: parties.${name}: party names must be lowercase`);
    if (!/^[a-z0-9_$-]+$/.test(name)) {
      fail(
        `${label}: parties.${name}: party names may use only a-z, 0-9, "_", "-" and "$" (they appear in URLs)`,
      );
    }
  }
  for (const [name, expr] of Object.entries(json.crons ?? {})) {
    const fields = expr.trim().split(/\s+/).filter(Boolean).length;
    if (fields !== 5 && fields !== 6) {
      fail(`${label}: crons.${name} must be a cron expression of 5 or 6 fields, got ${show(expr)}`);
    }
  }
}

function resolveMain(
  json: ConfigJson,
  flags: CliFlags,
  cwd: string,
  root: string,
  label: string | undefined,
): string {
  // An entry on the command line is typed relative to where the user is.
  if (flags.entry !== undefined) return resolve(cwd, flags.entry);
  if (json.main !== undefined) return resolve(root, json.main);
  if (label === undefined) {
    fail(
      `No partykit.json (or partykit.json5, partykit.jsonc, package.json#partykit) in ${cwd}, and no entry given. ` +
        `Create partykit.json with {"main": "src/server.ts"}, or run "partyhouse dev src/server.ts".`,
    );
  }
  fail(
    `${label}: "main" is missing. Add "main": "src/server.ts" (your Party.Server file), ` +
      `or pass the entry on the command line: "partyhouse dev src/server.ts".`,
  );
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function resolvePort(
  json: ConfigJson,
  flags: CliFlags,
  env: LoadConfigOptions["env"] & object,
): number {
  if (flags.port !== undefined) return flags.port;
  // In production the platform's PORT wins over a port written for development in the file.
  if (flags.mode === "start" && env["PORT"] !== undefined && env["PORT"] !== "") {
    const text = env["PORT"];
    const port = Number(text);
    if (!/^\d+$/.test(text) || port > 65535) {
      fail(`The PORT environment variable must be an integer from 0 to 65535, got ${show(text)}`);
    }
    return port;
  }
  return json.port ?? DEFAULT_PORT;
}

function resolveHost(flags: CliFlags, env: LoadConfigOptions["env"] & object): string {
  if (flags.host !== undefined) return flags.host;
  if (flags.mode === "start") return env["HOST"] || "0.0.0.0";
  // PartyKit's dev server binds 0.0.0.0; we bind loopback in dev so a laptop on shared Wi-Fi
  // does not expose the project. `--host 0.0.0.0` restores PartyKit's behaviour.
  return "127.0.0.1";
}

/** PostgreSQL storage, when the command line or the environment names a database. */
export function resolveDatabase(
  flags: CliFlags,
  env: LoadConfigOptions["env"] & object,
): PersistConfig | undefined {
  if (flags.database !== undefined) {
    if (flags.persist !== undefined) {
      fail("--database and --persist both choose where storage lives; give only one of them.");
    }
    return { kind: "postgres", url: checkPostgresUrl(flags.database, "--database") };
  }
  const fromEnv = env["PARTYHOUSE_DATABASE_URL"];
  // An explicit --persist on the command line wins over the environment.
  if (fromEnv === undefined || fromEnv === "" || flags.persist !== undefined) return undefined;
  return { kind: "postgres", url: checkPostgresUrl(fromEnv, "PARTYHOUSE_DATABASE_URL") };
}

function resolvePersist(
  json: ConfigJson,
  flags: CliFlags,
  cwd: string,
  root: string,
): PersistConfig {
  const fromFlag = flags.persist !== undefined;
  let value = fromFlag ? flags.persist : json.persist;
  // PartyKit reads the strings "true"/"false" as the booleans.
  if (value === "true") value = true;
  if (value === "false") value = false;
  if (value === false) return { kind: "memory" };
  if (value === undefined || value === true || value === "") {
    return { kind: "sqlite", path: join(root, ".partykit", "state", SQLITE_FILE_NAME) };
  }
  // A path on the command line is relative to cwd (as PartyKit); one in the file to the file.
  const dir = isAbsolute(value) ? value : resolve(fromFlag ? cwd : root, value);
  return { kind: "sqlite", path: join(dir, SQLITE_FILE_NAME) };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
