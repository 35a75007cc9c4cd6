/**
 * The bundler: turns a project's party entries into Node ESM files partyhouse can `import()`, and
 * builds `serve.build` client code into the served folder. In watch mode both rebuild on change.
 */
import { join } from "node:path";
import type { ResolvedConfig } from "../config/types.js";
import type { PartyhouseError } from "../core/errors.js";
import { runBuildCommand } from "./build-command.js";
import { startClientBundle } from "./client-bundle.js";
import { compatFile, defaultCompatEntry } from "./compat-plugin.js";
import { defaultPartykitHost } from "./defines.js";
import { OutputDir } from "./outputs.js";
import { startServerBundle } from "./server-bundle.js";
import type { BundleResult, RebuildEvent } from "./server-bundle.js";

export type { BundleResult, RebuildEvent } from "./server-bundle.js";
export { defaultCompatEntry, partykitCompatPlugin } from "./compat-plugin.js";
export { defaultPartykitHost } from "./defines.js";
export { runBuildCommand } from "./build-command.js";

/** Where the bundler reports what happens in the background (watch rebuilds of client code). */
export interface BundlerLog {
  info(message: string): void;
  error(message: string): void;
}

export interface BundlerOptions {
  /** Where party bundles go; default `<root>/.partykit/build`. Keep it under the project root so
   * external packages resolve from the project's node_modules. */
  outDir?: string;
  watch: boolean;
  /** Each changed party rebuild (watch mode), or its error; the last good files stay usable. */
  onRebuild?(event: RebuildEvent): void;
  log?: BundlerLog;
  /** Absolute path `partykit/server` resolves to; default partyhouse's `dist/compat/partykit-server.js`. */
  compatEntry?: string;
  /** Absolute path of the workerd-globals module; default partyhouse's `dist/compat/workerd-globals.js`. */
  globalsEntry?: string;
  /** The value of PARTYKIT_HOST; default `127.0.0.1:<port>` (the configured host if specific). */
  partykitHost?: string;
  /**
   * PARTYKIT_HOST of the `serve.build` client bundle as an esbuild define value (an expression):
   * default the JSON string of `partykitHost`. `"location.host"` makes pages dial their own origin.
   */
  clientPartykitHost?: string;
  /** Minify the party bundles (default: the config's `minify`). */
  minify?: boolean;
  /**
   * Bundle `partykit/server` into each party instead of importing partyhouse's file by its
   * absolute path, so the output can move to another machine (build artifacts).
   */
  portable?: boolean;
  /** Run the config's `build.command` before the first build (default true). */
  runBuildCommand?: boolean;
}

export interface Bundler {
  /** The first build. Later builds arrive through `onRebuild`. */
  result: BundleResult;
  /** Stops watching. Written files stay (a later run removes them once this process is gone). */
  dispose(): Promise<void>;
}

const consoleLog: BundlerLog = {
  info: (m) => console.log(m),
  error: (m) => console.error(m),
};

/**
 * Bundles every party of `config` (and the `serve.build` client entries) and, with `watch`, keeps
 * rebuilding. Throws PH_ERR_BUNDLE when the first build fails.
 *
 * @example
 * const bundler = await createBundler(config, { watch: true, onRebuild: (e) => e.ok && reload(e.result) });
 * const main = await import(pathToFileURL(bundler.result.parties.main).href);
 */
export async function createBundler(
  config: ResolvedConfig,
  opts: BundlerOptions,
): Promise<Bundler> {
  const log = opts.log ?? consoleLog;
  const partykitHost = opts.partykitHost ?? defaultPartykitHost(config);
  if (config.buildCommand && opts.runBuildCommand !== false) runBuildCommand(config.buildCommand);

  const output = new OutputDir(opts.outDir ?? join(config.root, ".partykit", "build"));
  await output.prepare();
  const server = await startServerBundle(config, {
    output,
    watch: opts.watch,
    compatEntry: opts.compatEntry ?? defaultCompatEntry(),
    globalsEntry: opts.globalsEntry ?? compatFile("workerd-globals"),
    partykitHost,
    minify: opts.minify ?? config.minify,
    portable: opts.portable === true,
    ...(opts.onRebuild ? { onRebuild: opts.onRebuild } : {}),
  });

  let client: { dispose(): Promise<void> } | undefined;
  const clientBuild = config.serve?.build;
  if (clientBuild) {
    try {
      client = await startClientBundle(config, clientBuild, {
        watch: opts.watch,
        partykitHost: opts.clientPartykitHost ?? JSON.stringify(partykitHost),
        onRebuild: (error: PartyhouseError | undefined) => {
          if (error) log.error(error.message);
          else log.info(`Rebuilt client code into ${clientBuild.outdir}`);
        },
      });
    } catch (e) {
      await server.dispose();
      throw e;
    }
  }

  let disposed = false;
  return {
    result: server.result,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await Promise.all([server.dispose(), client?.dispose()]);
    },
  };
}
