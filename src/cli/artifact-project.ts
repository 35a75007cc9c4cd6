import { installWorkerdGlobals } from "../compat/install-globals.js";
import { resolveDatabase } from "../config/load.js";
import type { ResolvedConfig } from "../config/types.js";
/** `partyhouse start` from a build artifact: no source, no bundling, no partykit.json needed. */
import { join, resolve } from "node:path";
import type { Bundler } from "../bundler/index.js";
import type { ParsedCli } from "../config/cli-args.js";
import { loadDotenvFiles } from "../config/dotenv.js";
import { DEFAULT_PORT, SQLITE_FILE_NAME } from "../config/load.js";
import type { PersistConfig, ServeConfig } from "../config/types.js";
import { PartyhouseError } from "../core/errors.js";
import type { Limits } from "../core/limits.js";
import { readArtifact } from "./artifact.js";
import { importParties } from "./import-parties.js";

/** What the server runs, from source (bundled now) or from a build artifact. */
export interface Project {
  parties: Record<string, unknown>;
  persist: PersistConfig;
  limits: Readonly<Partial<Limits>>;
  vars: Record<string, unknown>;
  crons: Readonly<Record<string, string>>;
  serve: ServeConfig | undefined;
  port: number;
  host: string;
  partyNames: string[];
  bundler?: Bundler;
  /** What the start line says it runs. */
  from: string;
  /** partykit.json's `ai` (a build artifact does not carry it: the environment configures AI). */
  ai?: ResolvedConfig["ai"];
  /** The project's .env, where PARTYHOUSE_AI_* may also be set. */
  dotenv?: ResolvedConfig["dotenv"];
}

function startPort(cli: ParsedCli): number {
  if (cli.flags.port !== undefined) return cli.flags.port;
  const text = process.env["PORT"];
  if (text === undefined || text === "") return DEFAULT_PORT;
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `The PORT environment variable must be an integer from 0 to 65535, got "${text}"`,
    );
  }
  return Number(text);
}

function startPersist(cwd: string, value: boolean | string | null | undefined): PersistConfig {
  if (value === false || value === "false") return { kind: "memory" };
  if (value === undefined || value === null || value === true || value === "" || value === "true") {
    return { kind: "sqlite", path: join(cwd, ".partykit", "state", SQLITE_FILE_NAME) };
  }
  return { kind: "sqlite", path: join(resolve(cwd, value), SQLITE_FILE_NAME) };
}

/**
 * Reads and checks the artifact in `dir` and imports its parties. Port, host and storage come
 * from the flags and the environment as for a start from source (`PORT`, `HOST`, `--persist`),
 * `room.env` from the vars built in, then `.env` in the current folder, then `--var`.
 */
/** The bundles of a portable build leave the workerd globals to the program that loads them. */
async function importBuilt(files: Record<string, string>): Promise<Record<string, unknown>> {
  installWorkerdGlobals();
  return importParties(files);
}

export async function loadArtifactProject(dir: string, cli: ParsedCli): Promise<Project> {
  const manifest = readArtifact(dir);
  const cwd = process.cwd();
  const files: Record<string, string> = {};
  for (const [name, p] of Object.entries(manifest.parties)) files[name] = join(dir, p.file);
  const assets = manifest.assets;
  const serve: ServeConfig | undefined = assets
    ? {
        path: join(dir, assets.dir),
        singlePageApp: assets.singlePageApp,
        browserTTL: assets.browserTTL,
        edgeTTL: assets.edgeTTL,
        include: assets.include,
        exclude: assets.exclude,
      }
    : undefined;
  return {
    parties: await importBuilt(files),
    // A database URL holds a password: never in the artifact, always from the flag or variable.
    persist:
      resolveDatabase(cli.flags, process.env) ??
      startPersist(cwd, cli.flags.persist ?? manifest.persist),
    limits: manifest.limits,
    vars: { ...manifest.vars, ...loadDotenvFiles(cwd, false).vars, ...cli.flags.vars },
    crons: manifest.crons,
    serve,
    port: startPort(cli),
    host: cli.flags.host ?? (process.env["HOST"] || "0.0.0.0"),
    partyNames: Object.keys(manifest.parties),
    from: `build ${manifest.buildId} in ${dir}`,
  };
}
