/**
 * `partyhouse`: the embedding API. Most projects use the CLI (`partyhouse dev` / `start`) instead.
 *
 * @example
 * import { startPartyhouse } from "partyhouse";
 * const ph = await startPartyhouse({ parties: { main: MyParty }, storage: { kind: "memory" } });
 */
export { startPartyhouse } from "./runtime/start.js";
export type { Partyhouse, StartOptions, StorageOption } from "./runtime/start.js";
export { createLogger } from "./runtime/logger.js";
export { createStorageProvider } from "./storage/provider.js";
export { ErrorCodes, PartyhouseError } from "./core/errors.js";
export type { ErrorCode } from "./core/errors.js";
export { defaultLimits } from "./core/limits.js";
export type { Limits } from "./core/limits.js";
export type { Logger } from "./core/log.js";
export type * as Party from "./core/types.js";
export type { Inspector, RoomInfo, ConnectionInfo } from "./core/inspect.js";
export { OpenAIForwardingAi, unconfiguredAi } from "./compat/ai/binding.js";
export type { AiBinding } from "./compat/ai/binding.js";
export { aiSettingsFromEnv } from "./compat/ai/settings.js";
export type { AiSettings } from "./compat/ai/settings.js";
export { installWorkerdGlobals } from "./compat/install-globals.js";
