/**
 * The `serve.build` client bundle: browser code built into the served folder (PartyKit's default
 * `<serve.path>/dist`), so the asset handler serves it like any other file.
 */
import { existsSync } from "node:fs";
import { isAbsolute, relative, sep } from "node:path";
import * as esbuild from "esbuild";
import type { ClientBuildOptions, ResolvedConfig } from "../config/types.js";
import type { PartyhouseError } from "../core/errors.js";
import { clientDefines } from "./defines.js";
import { bundleError, toBundleError } from "./failure.js";
import { firstBuildHook } from "./first-build.js";
import { ownClientDepsPlugin } from "./own-deps-plugin.js";

export interface ClientBundleOptions {
  watch: boolean;
  /** PARTYKIT_HOST as an esbuild define value (a JSON string or an expression). */
  partykitHost: string;
  /** Called after each watch rebuild: undefined when it succeeded, else the error. */
  onRebuild?: (error: PartyhouseError | undefined) => void;
}

/**
 * Builds the client entries once (throwing PH_ERR_BUNDLE on errors) and, with `watch`, rebuilds
 * them on change. Minifies when the config says so, else only for production (as PartyKit's
 * deploy does).
 */
export async function startClientBundle(
  config: ResolvedConfig,
  build: ClientBuildOptions,
  opts: ClientBundleOptions,
): Promise<{ dispose(): Promise<void> }> {
  const hook = firstBuildHook(
    "partyhouse-client-report",
    (result) => (result.errors.length > 0 ? bundleError("serve.build", result.errors) : undefined),
    (error) => opts.onRebuild?.(error),
  );
  let ctx: esbuild.BuildContext;
  try {
    ctx = await esbuild.context({
      entryPoints: build.entryPoints.map((e) => entrySpecifier(config.root, e)),
      absWorkingDir: config.root,
      outdir: build.outdir,
      bundle: build.bundle,
      splitting: build.splitting,
      format: build.format,
      platform: "browser",
      minify: build.minify ?? config.mode === "start",
      sourcemap: build.sourcemap,
      external: [...build.external],
      alias: { ...build.alias },
      loader: { ...build.loader },
      define: clientDefines(config, opts.partykitHost),
      logLevel: "silent",
      plugins: [ownClientDepsPlugin(), hook.plugin],
    });
  } catch (e) {
    throw toBundleError("serve.build", e);
  }
  try {
    const error = await hook.first(ctx, opts.watch);
    if (error) throw error;
    return { dispose: () => ctx.dispose() };
  } catch (e) {
    await ctx.dispose();
    throw toBundleError("serve.build", e);
  }
}

/**
 * An entry that is no file of the project may be a package path (PartyKit's monaco example lists
 * `monaco-editor/esm/vs/editor/editor.worker.js`): handed to esbuild as written, relative to the
 * root, esbuild tries the file first and then the package, as PartyKit's build does. Its output
 * then lands at `<outdir>/<package path>`.
 */
function entrySpecifier(root: string, entry: string): string {
  if (existsSync(entry)) return entry;
  const rel = relative(root, entry);
  if (rel === "" || isAbsolute(rel) || rel.startsWith("..")) return entry;
  return rel.split(sep).join("/");
}
