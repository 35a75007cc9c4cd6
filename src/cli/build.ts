import { createBundler } from "../bundler/index.js";
import type { ParsedCli } from "../config/cli-args.js";
import { createLogger } from "../runtime/logger.js";
import { bundlerLog, loadProjectConfig } from "./project.js";

/** `partyhouse build`: bundle every party (and `serve.build`) once, then exit. */
export async function runBuild(cli: ParsedCli): Promise<void> {
  const log = createLogger("pretty", { verbose: cli.verbose });
  const config = await loadProjectConfig(cli, "start");
  const bundler = await createBundler(config, {
    watch: false,
    log: bundlerLog(log),
  });
  for (const [name, file] of Object.entries(bundler.result.parties))
    log.info(`built ${name}: ${file}`);
  await bundler.dispose();
}
