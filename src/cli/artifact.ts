/**
 * The build artifact `partyhouse build` writes and `partyhouse start` runs: a folder
 * (`.partyhouse/` in the project unless `--out`/`--from` names another) with
 *
 *     manifest.json           format, partyhouse version, build time, hashes, runtime config
 *     parties/<name>.mjs      one self-contained ESM bundle per party (source maps inline)
 *     public/                 the static assets (`serve`), client bundles included
 *
 * Party bundles still import the project's npm packages at run time, so the folder runs next to
 * the project's `node_modules` (`npm ci --omit=dev`); the project's source is not needed.
 */
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import type { JsonValue, ResolvedConfig, ServeConfig } from "../config/types.js";
import type { Limits } from "../core/limits.js";
import { PartyhouseError } from "../core/errors.js";

export const ARTIFACT_DIR = ".partyhouse";
export const MANIFEST = "manifest.json";
export const ARTIFACT_FORMAT = 1;

/** What manifest.json holds. */
export interface Manifest {
  format: number;
  partyhouse: string;
  name?: string;
  builtAt: string;
  /** A hash over every file below, to tell builds apart. */
  buildId: string;
  parties: Record<string, { file: string; sha256: string }>;
  /** Relative to the artifact; absent when the project serves no assets. */
  assets?: {
    dir: string;
    files: Record<string, string>;
    singlePageApp: boolean;
    browserTTL: number | null;
    edgeTTL: number | null;
    include: string[];
    exclude: string[];
  };
  crons: Record<string, string>;
  limits: Partial<Limits>;
  vars: Record<string, JsonValue>;
  /** The config's `persist` as written, relative paths meaning relative to where start runs. */
  persist: boolean | string | null;
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? listFiles(path, base) : [relative(base, path).split(sep).join("/")];
  });
}

/** The artifact folder for a command: `--out`/`--from`, else `<base>/.partyhouse`. */
export function artifactDir(base: string, flag: string | undefined): string {
  return resolve(base, flag ?? ARTIFACT_DIR);
}

/**
 * Writes the artifact from a finished build: `built` maps party names to the bundles the
 * bundler wrote. The folder is replaced whole.
 */
export function writeArtifact(
  out: string,
  config: ResolvedConfig,
  built: Readonly<Record<string, string>>,
  json: {
    persist: boolean | string | null;
    limits: Partial<Limits>;
    vars: Record<string, JsonValue>;
  },
  version: string,
): Manifest {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "parties"), { recursive: true });
  const parties: Manifest["parties"] = {};
  const hash = createHash("sha256");
  for (const [name, file] of Object.entries(built)) {
    const rel = `parties/${name}.mjs`;
    cpSync(file, join(out, rel));
    parties[name] = { file: rel, sha256: sha256(join(out, rel)) };
    hash.update(rel).update(parties[name].sha256);
  }
  let assets: Manifest["assets"];
  const serve: ServeConfig | undefined = config.serve;
  if (serve && existsSync(serve.path) && statSync(serve.path).isDirectory()) {
    cpSync(serve.path, join(out, "public"), {
      recursive: true,
      filter: (src) => !/[/\\](node_modules|\.git)$/.test(src),
    });
    const files: Record<string, string> = {};
    for (const f of listFiles(join(out, "public"))) {
      files[f] = sha256(join(out, "public", f));
      hash.update(f).update(files[f]);
    }
    assets = {
      dir: "public",
      files,
      singlePageApp: serve.singlePageApp,
      browserTTL: serve.browserTTL,
      edgeTTL: serve.edgeTTL,
      include: [...serve.include],
      exclude: [...serve.exclude],
    };
  }
  const manifest: Manifest = {
    format: ARTIFACT_FORMAT,
    partyhouse: version,
    ...(config.name ? { name: config.name } : {}),
    builtAt: new Date().toISOString(),
    buildId: hash.digest("hex").slice(0, 16),
    parties,
    ...(assets ? { assets } : {}),
    crons: { ...config.crons },
    limits: json.limits,
    vars: json.vars,
    persist: json.persist,
  };
  writeFileSync(join(out, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

function broken(dir: string, what: string): never {
  throw new PartyhouseError(
    "PH_ERR_ARTIFACT",
    `the build in ${dir} ${what}; run "partyhouse build" again (or remove the folder to run from source)`,
  );
}

/** Reads and checks an artifact: every file the manifest names exists with its hash. */
export function readArtifact(dir: string): Manifest {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8")) as Manifest;
  } catch (e) {
    broken(dir, `has no readable ${MANIFEST} (${(e as Error).message})`);
  }
  if (manifest.format !== ARTIFACT_FORMAT)
    broken(dir, `has format ${manifest.format}, not ${ARTIFACT_FORMAT}`);
  if (!manifest.parties?.main) broken(dir, "has no main party");
  const check = (rel: string, want: string) => {
    const path = join(dir, rel);
    if (!existsSync(path)) broken(dir, `misses ${rel}`);
    if (sha256(path) !== want)
      broken(dir, `has a changed ${rel} (its hash differs from the manifest)`);
  };
  for (const p of Object.values(manifest.parties)) check(p.file, p.sha256);
  if (manifest.assets) {
    for (const [f, h] of Object.entries(manifest.assets.files))
      check(`${manifest.assets.dir}/${f}`, h);
  }
  return manifest;
}

/** True when `dir` holds an artifact (a manifest). */
export function hasArtifact(dir: string): boolean {
  return existsSync(join(dir, MANIFEST));
}
