/**
 * `room.context.ai` for `partyhouse dev`/`start`: PartyKit's `ai` from partykit.json plus the
 * operator's PARTYHOUSE_AI_* settings (environment first, then the project's .env).
 */
import { OpenAIForwardingAi, unconfiguredAi } from "../compat/ai/binding.js";
import { AI_ENV, aiSettingsFromEnv } from "../compat/ai/settings.js";
import type { ResolvedConfig } from "../config/types.js";
import type { Logger } from "../core/log.js";
import { startAiGateway } from "../runtime/ai-gateway.js";

export interface AiSetup {
  binding: object;
  close(): Promise<void>;
}

const nothingToClose = () => Promise.resolve();

/** Builds the binding (starting partykit-ai's loopback gateway when forwarding is configured). */
export async function setupAi(
  config: { readonly ai?: ResolvedConfig["ai"]; readonly dotenv?: ResolvedConfig["dotenv"] },
  env: Readonly<Record<string, string | undefined>>,
  log: Logger,
): Promise<AiSetup> {
  // PartyKit's own gateway settings are handed to party code as they are, as PartyKit does.
  if (typeof config.ai === "object") return { binding: { ...config.ai }, close: nothingToClose };
  const settings = aiSettingsFromEnv({ ...config.dotenv, ...env });
  if (settings === undefined) {
    if (config.ai === true) {
      log.warn(
        `partykit.json sets "ai" but ${AI_ENV.url} is not set: room.context.ai fails with PH_ERR_AI_NOT_CONFIGURED`,
      );
    }
    return { binding: unconfiguredAi(), close: nothingToClose };
  }
  if (config.ai !== true) {
    log.warn(
      `${AI_ENV.url} is set but partykit.json has no "ai": true; room.context.ai stays unconfigured`,
    );
    return { binding: unconfiguredAi(), close: nothingToClose };
  }
  const ai = new OpenAIForwardingAi(settings);
  const gateway = await startAiGateway((model, inputs) => ai.run(model, inputs), log);
  ai.apiGateway = gateway.url;
  ai.apiToken = gateway.token;
  log.info(`room.context.ai forwards to ${settings.url}`);
  return { binding: ai, close: () => gateway.close() };
}
