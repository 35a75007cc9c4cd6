import type { BundlerLog } from "../bundler/index.js";
import type { ParsedCli } from "../config/cli-args.js";
import { loadConfig } from "../config/load.js";
import type { ResolvedConfig } from "../config/types.js";
import type { Logger } from "../core/log.js";

/** The project config for a CLI command run in the current directory. */
export function loadProjectConfig(cli: ParsedCli, mode: "dev" | "start"): Promise<ResolvedConfig> {
  return loadConfig({
    cwd: process.cwd(),
    ...(cli.configPath !== undefined ? { configPath: cli.configPath } : {}),
    flags: { ...cli.flags, mode },
  });
}

/** The bundler reports through the process logger; its errors carry PH_ERR_BUNDLE. */
export function bundlerLog(log: Logger): BundlerLog {
  return { info: (m) => log.info(m), error: (m) => log.error("PH_ERR_BUNDLE", m) };
}
