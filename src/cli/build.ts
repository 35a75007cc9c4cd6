import { join, relative } from "node:path";
import { createBundler } from "../bundler/index.js";
import type { ParsedCli } from "../config/cli-args.js";
import type { ResolvedConfig } from "../config/types.js";
import { createLogger } from "../runtime/logger.js";
import { artifactDir, writeArtifact } from "./artifact.js";
import { partyhousePackage } from "./install-spec.js";
import { bundlerLog, loadProjectConfig } from "./project.js";
import { hostDefines } from "./server-flags.js";

/** The config's `persist` as the artifact records it: relative to where `start` runs. */
function persistOf(config: ResolvedConfig): boolean | string | null {
  if (config.persist.kind === "memory") return false;
  // A database is chosen where start runs (--database, PARTYHOUSE_DATABASE_URL), never stored.
  if (config.persist.kind === "postgres") return null;
  const dir = join(config.persist.path, "..");
  return dir === join(config.root, ".partykit", "state") ? null : relative(config.root, dir) || ".";
}

/**
 * `partyhouse build`: bundle every party (and `serve.build`) for production and write the
 * artifact `partyhouse start` runs (see artifact.ts), then exit.
 */
export async function runBuild(cli: ParsedCli): Promise<void> {
  const log = createLogger("pretty", { verbose: cli.verbose });
  const config = await loadProjectConfig(cli, "start");
  const out = artifactDir(process.cwd(), cli.server.artifactDir);
  const bundler = await createBundler(config, {
    watch: false,
    log: bundlerLog(log),
    outDir: join(config.root, ".partykit", "build"),
    minify: cli.server.minify || config.minify,
    portable: true,
    ...hostDefines(cli, "start"),
  });
  try {
    const manifest = writeArtifact(
      out,
      config,
      bundler.result.parties,
      { persist: persistOf(config), limits: { ...config.limits }, vars: { ...config.vars } },
      partyhousePackage().version,
    );
    for (const name of Object.keys(manifest.parties)) log.info(`built ${name}`);
    log.info(
      `wrote build ${manifest.buildId} to ${out}; run it with: partyhouse start${cli.server.artifactDir ? ` --from ${cli.server.artifactDir}` : ""}`,
    );
  } finally {
    await bundler.dispose();
  }
}
