/**
 * The party (server) bundle: every party entry, TypeScript/JSX, bundled as ESM for Node. Bare
 * package imports stay external and are resolved at run time from the project's node_modules
 * (the output lives under the project root for that reason), except packages with a worker
 * build (packages-plugin.ts) and `partykit/server`/`party.io`, which the compat plugin points at
 * partyhouse. `.wasm`/`.bin`/`.txt` imports get workerd's module types (module-types.ts).
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import * as esbuild from "esbuild";
import type { BuildResult } from "esbuild";
import type { ResolvedConfig } from "../config/types.js";
import type { PartyhouseError } from "../core/errors.js";
import { partykitCompatPlugin } from "./compat-plugin.js";
import { serverBanner, serverDefines } from "./defines.js";
import { WORKER_CONDITIONS } from "./exports-map.js";
import { bundleError, toBundleError } from "./failure.js";
import { firstBuildHook } from "./first-build.js";
import { moduleTypeLoaders, moduleTypesPlugin } from "./module-types.js";
import type { OutputDir } from "./outputs.js";
import { packagesPlugin } from "./packages-plugin.js";

/** One successful build of every party. */
export interface BundleResult {
  /** Party name → absolute path of its built `.mjs`; import it with `pathToFileURL(path).href`. */
  parties: Readonly<Record<string, string>>;
  /** Increases with every build whose output changed; file names carry it. */
  version: number;
}

/** What a watch-mode rebuild produced. */
export type RebuildEvent =
  { ok: true; result: BundleResult } | { ok: false; error: PartyhouseError };

export interface ServerBundleOptions {
  output: OutputDir;
  watch: boolean;
  compatEntry: string;
  /** Absolute path of the module that installs the workerd globals (see src/compat/workerd-globals.ts). */
  globalsEntry: string;
  partykitHost: string;
  minify: boolean;
  /** Bundle the compat entry instead of importing it by absolute path. */
  portable: boolean;
  onRebuild?: (event: RebuildEvent) => void;
}

/**
 * Builds once (throwing PH_ERR_BUNDLE on errors) and, with `watch`, keeps rebuilding on changes:
 * each changed build is written under a new version and reported through `onRebuild`, a failed
 * one is reported as an error and the last good files stay in place.
 */
export async function startServerBundle(
  config: ResolvedConfig,
  opts: ServerBundleOptions,
): Promise<{ result: BundleResult; dispose(): Promise<void> }> {
  let version = 0;
  let lastHash = "";
  let lastFailed = false;
  let latest: BundleResult | undefined;

  // Runs at the end of every build. Undefined means "nothing new to report".
  const collect = async (build: BuildResult): Promise<RebuildEvent | undefined> => {
    if (build.errors.length > 0) {
      lastFailed = true;
      return { ok: false, error: bundleError("the parties", build.errors) };
    }
    const code = new Map<string, string>();
    const hash = createHash("sha256");
    for (const file of build.outputFiles ?? []) {
      if (!file.path.endsWith(".mjs")) continue;
      const party = basename(file.path, ".mjs");
      code.set(party, file.text);
      hash.update(party).update("\0").update(file.text).update("\0");
    }
    const digest = hash.digest("hex");
    // Saving a file without changing the output is not a new version; after a failed build,
    // the unchanged good result is reported again so the caller knows the error is gone.
    if (digest === lastHash && latest) {
      const recovered = lastFailed;
      lastFailed = false;
      return recovered ? { ok: true, result: latest } : undefined;
    }
    const next = version + 1;
    const parties = await opts.output.write(next, code);
    version = next;
    lastHash = digest;
    lastFailed = false;
    latest = Object.freeze({ parties: Object.freeze(parties), version });
    await opts.output.prune(version - 1);
    return { ok: true, result: latest };
  };

  const hook = firstBuildHook<RebuildEvent | undefined>(
    "partyhouse-versioned-output",
    (build) =>
      collect(build).catch((e: unknown) => ({ ok: false, error: toBundleError("the parties", e) })),
    (event) => {
      if (event && opts.onRebuild) opts.onRebuild(event);
    },
  );

  let ctx: esbuild.BuildContext;
  try {
    ctx = await esbuild.context({
      entryPoints: { ...config.parties },
      absWorkingDir: config.root,
      outdir: opts.output.dir,
      outExtension: { ".js": ".mjs" },
      write: false,
      bundle: true,
      // "neutral" so that only PartyKit's conditions pick a package's build (platform "node"
      // would add the "node" condition); Node built-ins are kept external by packagesPlugin.
      platform: "neutral",
      mainFields: ["module", "main"],
      conditions: [...WORKER_CONDITIONS],
      target: "node20",
      format: "esm",
      // Inline, so a renamed (versioned) file keeps its map; Node uses it with --enable-source-maps.
      sourcemap: "inline",
      minify: opts.minify,
      define: serverDefines(config, opts.partykitHost),
      alias: { ...config.alias },
      loader: { ...moduleTypeLoaders },
      // A portable artifact names no path of this machine: `start` installs the globals itself
      // before it imports the bundles (cli/artifact-project.ts).
      banner: { js: serverBanner(config, opts.portable ? undefined : opts.globalsEntry) },
      logLevel: "silent",
      plugins: [
        partykitCompatPlugin(opts.compatEntry, { inline: opts.portable === true }),
        moduleTypesPlugin(),
        packagesPlugin(),
        hook.plugin,
      ],
    });
  } catch (e) {
    throw toBundleError("the parties", e);
  }

  try {
    const first = await hook.first(ctx, opts.watch);
    if (first && !first.ok) throw first.error;
    if (!latest) throw new Error("esbuild finished without output");
    return { result: latest, dispose: () => ctx.dispose() };
  } catch (e) {
    await ctx.dispose();
    throw toBundleError("the parties", e);
  }
}
