import { createBundler } from "../bundler/index.js";
import type { ParsedCli } from "../config/cli-args.js";
import { loadConfig } from "../config/load.js";
import { createLogger } from "../runtime/logger.js";

/** `partyhouse build`: bundle every party (and `serve.build`) once, then exit. */
export async function runBuild(cli: ParsedCli): Promise<void> {
  const log = createLogger("pretty", { verbose: cli.verbose });
  const config = await loadConfig({
    cwd: process.cwd(),
    ...(cli.configPath !== undefined ? { configPath: cli.configPath } : {}),
    flags: { ...cli.flags, mode: "start" },
  });
  const bundler = await createBundler(config, {
    watch: false,
    log: { info: (m) => log.info(m), error: (m) => log.error("PH_ERR_BUNDLE", m) },
  });
  for (const [name, file] of Object.entries(bundler.result.parties))
    log.info(`built ${name}: ${file}`);
  await bundler.dispose();
}
