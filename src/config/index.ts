/** Config: discovery, validation and resolution of partykit.json, .env files and the command line. */
export { loadConfig, loadConfigSync, DEFAULT_PORT, SQLITE_FILE_NAME } from "./load.js";
export type { LoadConfigOptions } from "./load.js";
export { parseCliArgs } from "./cli-args.js";
export type { Command, ParsedCli } from "./cli-args.js";
export { parseDotenv } from "./dotenv.js";
export { CONFIG_FILE_NAMES } from "./discover.js";
export type {
  BuildCommand,
  CliFlags,
  ClientBuildOptions,
  ClientLoader,
  JsonValue,
  Mode,
  PersistConfig,
  ResolvedConfig,
  ServeConfig,
} from "./types.js";
