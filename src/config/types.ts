/**
 * The shapes of partyhouse's configuration: what the CLI parsed, and the resolved, frozen result
 * every other layer reads. Nothing here does I/O.
 */
import type { Limits } from "../core/limits.js";

/** A value as JSON (or JSON5) can spell it; `vars` keep these types, as PartyKit passes them. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Whether the server runs for development (watch, loopback, .env.local) or production. */
export type Mode = "dev" | "start";

/** What the command line contributes to the config. Command-line values win over the file. */
export interface CliFlags {
  /** The `[entry]` positional: a party entry file that replaces `main` (relative to cwd). */
  entry?: string;
  port?: number;
  host?: string;
  /** `--persist` (true), `--persist false`, or `--persist <dir>`. */
  persist?: string | boolean;
  /** `--database <url>`: keep storage in PostgreSQL instead of SQLite. */
  database?: string;
  /** `--var k=v`, repeatable; these win over the config's `vars` and the .env files. */
  vars: Record<string, string>;
  /** `--define k=v`, repeatable; the value is a JS expression, as with esbuild. */
  define: Record<string, string>;
  /** `--serve <dir>`: replaces the config's whole `serve` field, as PartyKit does. */
  serve?: string;
  /** `--with-env`: also define every .env variable as a bare identifier (PartyKit's flag). */
  withEnv?: boolean;
  mode: Mode;
}

/** esbuild options for the client bundle of `serve.build`, with PartyKit's defaults applied. */
export interface ClientBuildOptions {
  /** Absolute paths of the entry files. */
  entryPoints: readonly string[];
  /** Absolute output directory; PartyKit's default is `<serve.path>/dist`. */
  outdir: string;
  bundle: boolean;
  splitting: boolean;
  /** Unset in the config means: false in dev, true for production builds (as PartyKit). */
  minify?: boolean;
  format: "esm" | "cjs" | "iife";
  sourcemap: boolean;
  external: readonly string[];
  alias: Readonly<Record<string, string>>;
  /** Defines of the client build only; the bundler layers them over PARTYKIT_HOST and `define`. */
  define: Readonly<Record<string, string>>;
  loader: Readonly<Record<string, ClientLoader>>;
  /** PartyKit's live reload. Accepted; partyhouse does not inject a reload script. */
  live: boolean;
}

export type ClientLoader =
  | "base64"
  | "binary"
  | "copy"
  | "css"
  | "dataurl"
  | "default"
  | "empty"
  | "file"
  | "js"
  | "json"
  | "jsx"
  | "local-css"
  | "text"
  | "ts"
  | "tsx";

/** Static asset serving, resolved. */
export interface ServeConfig {
  /** Absolute directory the files are served from. */
  path: string;
  singlePageApp: boolean;
  /**
   * partyhouse's own: "inside" (default) serves a symlink only if it resolves to a servable file
   * inside `path`; "refuse" serves no path that goes through a symlink below `path`.
   */
  symlinks?: "inside" | "refuse";
  /** Seconds a browser may cache an asset (`Cache-Control: max-age`), null when unset. */
  browserTTL: number | null;
  /** Seconds a shared cache may keep an asset (`s-maxage`), null when unset. */
  edgeTTL: number | null;
  /** Globs (relative to `path`) of files to serve; empty means every file. */
  include: readonly string[];
  /** Globs of files never to serve; dotfiles and node_modules are never served anyway. */
  exclude: readonly string[];
  build?: ClientBuildOptions;
}

export type PersistConfig =
  | { kind: "memory" }
  | { kind: "sqlite"; /** absolute file */ path: string }
  | {
      kind: "postgres";
      /** a postgres:// URL (holds the password: log it redacted) */ url: string;
    };

/** A shell command PartyKit runs before bundling (`build.command`, run in `build.cwd`). */
export interface BuildCommand {
  command: string;
  /** Absolute working directory. */
  cwd: string;
}

/** The configuration every layer reads: validated, with paths absolute, deeply frozen. */
export interface ResolvedConfig {
  mode: Mode;
  /** The project directory: the config file's folder, or cwd when there is no file. */
  root: string;
  /** Absolute path of the config file, absent when the project has none. */
  configPath?: string;
  name?: string;
  /** Absolute path of the `main` party's entry. */
  main: string;
  /** Every party, `main` included: name → absolute entry path. */
  parties: Readonly<Record<string, string>>;
  /** Room `env`: config `vars`, then .env, .env.local (dev), then `--var`. */
  vars: Readonly<Record<string, JsonValue>>;
  /**
   * The variables read from .env (and .env.local in dev). PartyKit copies these into the bundle's
   * `process.env`; the bundler does the same.
   */
  dotenv: Readonly<Record<string, string>>;
  /** esbuild defines: config `define`, then `--define` (and .env values with `--with-env`). */
  define: Readonly<Record<string, string>>;
  port: number;
  host: string;
  persist: PersistConfig;
  serve?: ServeConfig;
  /** Cron triggers: name → expression (5 or 6 fields). */
  crons: Readonly<Record<string, string>>;
  limits: Readonly<Limits>;
  /** `minify` of the server bundle. */
  minify: boolean;
  /** `build.alias`: import aliases for the server bundle. */
  alias: Readonly<Record<string, string>>;
  buildCommand?: BuildCommand;
  /** PartyKit's `ai`, when set: `room.context.ai` is configured from it plus PARTYHOUSE_AI_* (README). */
  ai?: boolean | { apiGateway?: string; apiToken?: string; apiAccount?: string };
}
