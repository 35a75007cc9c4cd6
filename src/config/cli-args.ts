/**
 * The command line: `partyhouse <dev|start|build|init> [...]`. Flag names and forms follow
 * `partykit dev` (`-p`, `-c`, `--persist [path]`, `-v/--var k=v...`, `-d/--define k=v...`,
 * `--serve`), so the scripts of an existing project keep working with the command renamed.
 */
import { PartyhouseError } from "../core/errors.js";
import type { CliFlags } from "./types.js";

export type Command =
  "dev" | "start" | "build" | "init" | "list" | "info" | "tail" | "help" | "version";

/** What `parseCliArgs` understood. */
export interface ParsedCli {
  command: Command;
  /** `-c/--config`, relative to cwd. */
  configPath?: string;
  verbose: boolean;
  /** `-h/--help` was given (with any command). */
  help: boolean;
  flags: CliFlags;
  /** `init [name]`. */
  name?: string;
  /** `init -y/--yes`. */
  yes: boolean;
  /** `init --dry-run`. */
  dryRun: boolean;
  /** `init --install` (default) / `--no-install`: run npm install after writing the files. */
  install: boolean;
  /** Flags that shape the server process (not the project config). */
  server: ServerFlags;
  /** `list`, `info`, `tail`. */
  admin: AdminClientFlags;
  /** PartyKit flags accepted so existing scripts run, but without effect here. */
  ignored: string[];
}

/** Process-level flags of dev/start/build; each also has an environment variable (see README). */
export interface ServerFlags {
  /** `--https`: serve TLS; needs `--https-key-path` and `--https-cert-path`. */
  https: boolean;
  httpsKeyPath?: string;
  httpsCertPath?: string;
  /** `--minify`: minify the party bundles (as the config's `minify`). */
  minify: boolean;
  /** `--trust-proxy`: take `X-Forwarded-Proto`/`X-Forwarded-Host` into `request.url`. */
  trustProxy: boolean;
  /** `--public-host <host[:port]>`: PARTYKIT_HOST baked into client bundles. */
  publicHost?: string;
  /** `--shutdown-grace <ms>`: how long shutdown waits for in-flight requests and sockets. */
  shutdownGraceMs?: number;
  /** `build --out <dir>` / `start --from <dir>`: the build artifact folder. */
  artifactDir?: string;
  /** `--admin-port <n>`: start the admin listener (metrics, rooms, logs) on this port. */
  adminPort?: number;
  /** `--admin-host <h>`: where the admin listener binds (default 127.0.0.1). */
  adminHost?: string;
  /** `--node-url <url>`: this node's address for the other cluster nodes (PARTYHOUSE_NODE_URL). */
  nodeUrl?: string;
  /** `--cluster-secret <s>`: the secret every cluster node shares (PARTYHOUSE_CLUSTER_SECRET). */
  clusterSecret?: string;
  /** `--lease-ms <ms>`: the room ownership lease (PARTYHOUSE_LEASE_MS). */
  leaseMs?: number;
  /** `--workers <n|auto>`: run n worker processes behind one port (PARTYHOUSE_WORKERS). */
  workers?: string;
  /** `--max-memory <size>`: restart a worker whose RSS passes this (PARTYHOUSE_MAX_MEMORY). */
  maxMemory?: string;
}

/** Flags of `partyhouse list`, `info` and `tail` (clients of a running server's admin listener). */
export interface AdminClientFlags {
  /** `--admin <url>`: the admin listener (default PARTYHOUSE_ADMIN_URL or http://127.0.0.1:<PARTYHOUSE_ADMIN_PORT>). */
  url?: string;
  party?: string;
  room?: string;
  level?: string;
  format: "pretty" | "json";
  /** Positional arguments (`info <party> <room>`). */
  args: string[];
}

const COMMANDS = ["dev", "start", "build", "init", "list", "info", "tail"] as const;
const ADMIN_COMMANDS: readonly string[] = ["list", "info", "tail"];

type Arity = "none" | "one" | "optional" | "pairs" | "many";
interface FlagSpec {
  names: readonly string[];
  arity: Arity;
  /** Accepted for PartyKit compatibility and reported in `ignored`. */
  ignored?: boolean;
}

const runFlags: readonly FlagSpec[] = [
  { names: ["-p", "--port"], arity: "one" },
  { names: ["-c", "--config"], arity: "one" },
  { names: ["--host"], arity: "one" },
  { names: ["--persist"], arity: "optional" },
  { names: ["--no-persist"], arity: "none" },
  { names: ["--database"], arity: "one" },
  { names: ["-v", "--var"], arity: "pairs" },
  { names: ["-d", "--define"], arity: "pairs" },
  { names: ["--serve"], arity: "one" },
  { names: ["--verbose"], arity: "none" },
  { names: ["--with-env"], arity: "none" },
  { names: ["-h", "--help"], arity: "none" },
  { names: ["--minify"], arity: "none" },
  { names: ["--https"], arity: "none" },
  { names: ["--https-key-path"], arity: "one" },
  { names: ["--https-cert-path"], arity: "one" },
  { names: ["--trust-proxy"], arity: "none" },
  { names: ["--public-host"], arity: "one" },
  { names: ["--shutdown-grace"], arity: "one" },
  { names: ["--out", "--from"], arity: "one" },
  { names: ["--admin-port"], arity: "one" },
  { names: ["--admin-host"], arity: "one" },
  { names: ["--node-url"], arity: "one" },
  { names: ["--cluster-secret"], arity: "one" },
  { names: ["--lease-ms"], arity: "one" },
  { names: ["--workers"], arity: "one" },
  { names: ["--max-memory"], arity: "one" },
  { names: ["--live"], arity: "none", ignored: true },
  { names: ["--no-hotkeys"], arity: "none", ignored: true },
  { names: ["--disable-request-cf-fetch"], arity: "none", ignored: true },
  { names: ["--compatibility-date"], arity: "one", ignored: true },
  { names: ["--compatibility-flags"], arity: "many", ignored: true },
];

const adminFlags: readonly FlagSpec[] = [
  { names: ["--admin"], arity: "one" },
  { names: ["--party"], arity: "one" },
  { names: ["--room"], arity: "one" },
  { names: ["--level"], arity: "one" },
  { names: ["--format"], arity: "one" },
  { names: ["-h", "--help"], arity: "none" },
];

const initFlags: readonly FlagSpec[] = [
  { names: ["-y", "--yes"], arity: "none" },
  { names: ["--dry-run"], arity: "none" },
  { names: ["--install"], arity: "none" },
  { names: ["--no-install"], arity: "none" },
  { names: ["-h", "--help"], arity: "none" },
  { names: ["--typescript"], arity: "none", ignored: true },
  { names: ["--no-typescript"], arity: "none", ignored: true },
  { names: ["--git"], arity: "none", ignored: true },
  { names: ["--no-git"], arity: "none", ignored: true },
];

function fail(message: string): never {
  throw new PartyhouseError("PH_ERR_CONFIG", message);
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535)
    fail(`--port must be an integer from 0 to 65535, got "${text}"`);
  return port;
}

function addPair(target: Record<string, string>, flag: string, pair: string): void {
  const eq = pair.indexOf("=");
  if (eq <= 0) fail(`${flag} expects key=value, got "${pair}"`);
  target[pair.slice(0, eq)] = pair.slice(eq + 1);
}

/**
 * Parses the arguments after the program name (`process.argv.slice(2)`).
 * Throws PH_ERR_CONFIG for an unknown command or flag, a missing value or a bad port.
 *
 * @example
 * parseCliArgs(["dev", "src/server.ts", "-p", "3000", "--var", "KEY=1"]);
 * // { command: "dev", flags: { entry: "src/server.ts", port: 3000, vars: { KEY: "1" }, ... } }
 */
export function parseCliArgs(argv: readonly string[]): ParsedCli {
  const out: ParsedCli = {
    command: "help",
    verbose: false,
    help: false,
    flags: { vars: {}, define: {}, mode: "dev" },
    yes: false,
    dryRun: false,
    install: true,
    server: { https: false, minify: false, trustProxy: false },
    admin: { format: "pretty", args: [] },
    ignored: [],
  };
  const first = argv[0];
  if (first === undefined) return out;
  if (first === "-h" || first === "--help" || first === "help") return { ...out, help: true };
  // PartyKit's CLI prints its version for a top-level -v; after a command -v is --var.
  if (first === "-v" || first === "-V" || first === "--version" || first === "version") {
    return { ...out, command: "version" };
  }
  if (!(COMMANDS as readonly string[]).includes(first)) {
    fail(`Unknown command "${first}". Commands: ${COMMANDS.join(", ")}.`);
  }
  const command = first as (typeof COMMANDS)[number];
  out.command = command;
  out.flags.mode = command === "dev" ? "dev" : "start";
  const specs =
    command === "init" ? initFlags : ADMIN_COMMANDS.includes(command) ? adminFlags : runFlags;

  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--" || !arg.startsWith("-") || arg === "-") {
      const rest = arg === "--" ? argv.slice(i + 1) : [arg];
      for (const positional of rest) setPositional(out, command, positional);
      if (arg === "--") break;
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const spec = specs.find((s) => s.names.includes(name));
    if (!spec) {
      const known = specs.map((s) => s.names.join("/")).join(", ");
      fail(`Unknown option "${name}" for "partyhouse ${command}". Options: ${known}.`);
    }
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    if (spec.arity === "none" && inline !== undefined) fail(`${name} takes no value`);
    const values: string[] = inline === undefined ? [] : [inline];
    const next = (): string | undefined => {
      const v = argv[i + 1];
      return v === undefined || (v.startsWith("-") && v !== "-") ? undefined : v;
    };
    if (inline === undefined) {
      if (spec.arity === "one") {
        const v = next();
        if (v === undefined) fail(`${name} needs a value`);
        values.push(v);
        i++;
      } else if (spec.arity === "optional") {
        const v = next();
        if (v !== undefined) {
          values.push(v);
          i++;
        }
      }
    }
    if (spec.arity === "pairs" || spec.arity === "many") {
      // Variadic like PartyKit's `--var <vars...>`: take following values; for k=v pairs only
      // the ones with "=", so `dev --var A=1 src/server.ts` still finds its entry.
      for (
        let v = next();
        v !== undefined && (spec.arity === "many" || v.includes("="));
        v = next()
      ) {
        values.push(v);
        i++;
      }
      if (values.length === 0) fail(`${name} needs a value`);
    }
    if (spec.ignored) {
      out.ignored.push(name);
      continue;
    }
    applyFlag(out, spec.names[spec.names.length - 1] as string, name, values);
  }
  return out;
}

function setPositional(out: ParsedCli, command: string, value: string): void {
  if (ADMIN_COMMANDS.includes(command)) {
    out.admin.args.push(value);
    return;
  }
  if (command === "init") {
    if (out.name !== undefined)
      fail(`"partyhouse init" takes one name, got "${out.name}" and "${value}"`);
    out.name = value;
    return;
  }
  if (out.flags.entry !== undefined) {
    fail(`"partyhouse ${command}" takes one entry file, got "${out.flags.entry}" and "${value}"`);
  }
  out.flags.entry = value;
}

function applyFlag(out: ParsedCli, long: string, given: string, values: string[]): void {
  const value = values[0];
  switch (long) {
    case "--port":
      out.flags.port = parsePort(value as string);
      return;
    case "--config":
      out.configPath = value;
      return;
    case "--host":
      out.flags.host = value;
      return;
    case "--persist":
      // PartyKit reads the strings "true" and "false" as booleans.
      out.flags.persist =
        value === undefined || value === "true" ? true : value === "false" ? false : value;
      return;
    case "--no-persist":
      out.flags.persist = false;
      return;
    case "--database":
      out.flags.database = value;
      return;
    case "--var":
      for (const pair of values) addPair(out.flags.vars, given, pair);
      return;
    case "--define":
      for (const pair of values) addPair(out.flags.define, given, pair);
      return;
    case "--serve":
      out.flags.serve = value;
      return;
    case "--verbose":
      out.verbose = true;
      return;
    case "--with-env":
      out.flags.withEnv = true;
      return;
    case "--help":
      out.help = true;
      return;
    case "--yes":
      out.yes = true;
      return;
    case "--dry-run":
      out.dryRun = true;
      return;
    case "--install":
      out.install = true;
      return;
    case "--no-install":
      out.install = false;
      return;
    case "--minify":
      out.server.minify = true;
      return;
    case "--https":
      out.server.https = true;
      return;
    case "--https-key-path":
      out.server.httpsKeyPath = value;
      return;
    case "--https-cert-path":
      out.server.httpsCertPath = value;
      return;
    case "--trust-proxy":
      out.server.trustProxy = true;
      return;
    case "--public-host":
      out.server.publicHost = value;
      return;
    case "--shutdown-grace": {
      const ms = Number(value);
      if (!/^\d+$/.test(value as string))
        fail(`--shutdown-grace must be milliseconds (an integer), got "${value}"`);
      out.server.shutdownGraceMs = ms;
      return;
    }
    case "--from":
      out.server.artifactDir = value;
      return;
    case "--admin-port":
      out.server.adminPort = parsePort(value as string);
      return;
    case "--admin-host":
      out.server.adminHost = value;
      return;
    case "--node-url":
      out.server.nodeUrl = value;
      return;
    case "--cluster-secret":
      out.server.clusterSecret = value;
      return;
    case "--lease-ms":
      if (!/^\d+$/.test(value as string))
        fail(`--lease-ms must be milliseconds (an integer), got "${value}"`);
      out.server.leaseMs = Number(value);
      return;
    case "--workers":
      out.server.workers = value;
      return;
    case "--max-memory":
      out.server.maxMemory = value;
      return;
    case "--admin":
      out.admin.url = value;
      return;
    case "--party":
      out.admin.party = value;
      return;
    case "--room":
      out.admin.room = value;
      return;
    case "--level":
      if (!["debug", "info", "warn", "error"].includes(value as string))
        fail(`--level must be debug, info, warn or error, got "${value}"`);
      out.admin.level = value;
      return;
    case "--format":
      if (value !== "pretty" && value !== "json")
        fail(`--format must be pretty or json, got "${value}"`);
      out.admin.format = value;
      return;
  }
}
