/**
 * Where `room.context.ai` forwards to: an OpenAI-compatible HTTP API (llama.cpp's server, Ollama,
 * vLLM, or a hosted one), named by the operator's environment (or the project's .env), so keys
 * stay out of partykit.json.
 */
import { PartyhouseError } from "../../core/errors.js";

export interface AiSettings {
  /** Base URL of the API, the part before `/chat/completions` (e.g. `http://127.0.0.1:8080/v1`). */
  url: string;
  /** Sent as `Authorization: Bearer <apiKey>` when set. */
  apiKey?: string;
  /** Workers AI model name (`@cf/meta/llama-3-8b-instruct`) → the endpoint's model name. */
  models: Readonly<Record<string, string>>;
  /** The endpoint's model for every name not in `models`; unset, the name is passed on as is. */
  defaultModel?: string;
}

/** The environment variables read by aiSettingsFromEnv. */
export const AI_ENV = {
  url: "PARTYHOUSE_AI_URL",
  apiKey: "PARTYHOUSE_AI_KEY",
  defaultModel: "PARTYHOUSE_AI_MODEL",
  models: "PARTYHOUSE_AI_MODELS",
} as const;

/** Reads the settings; undefined when PARTYHOUSE_AI_URL is not set. Throws PH_ERR_CONFIG on bad values. */
export function aiSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): AiSettings | undefined {
  const url = env[AI_ENV.url]?.trim();
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `${AI_ENV.url} must be the http(s) base URL of an OpenAI-compatible API (like http://127.0.0.1:8080/v1), got ${JSON.stringify(url)}`,
    );
  }
  let models: Record<string, string> = {};
  const rawModels = env[AI_ENV.models]?.trim();
  if (rawModels) {
    let value: unknown;
    try {
      value = JSON.parse(rawModels);
    } catch {
      value = undefined;
    }
    const ok =
      typeof value === "object" &&
      value !== null &&
      !Array.isArray(value) &&
      Object.values(value).every((v) => typeof v === "string");
    if (!ok) {
      throw new PartyhouseError(
        "PH_ERR_CONFIG",
        `${AI_ENV.models} must be a JSON object of Workers AI model name to endpoint model name, like {"@cf/meta/llama-3-8b-instruct":"llama3"}`,
      );
    }
    models = value as Record<string, string>;
  }
  const settings: AiSettings = { url: url.replace(/\/+$/, ""), models: Object.freeze(models) };
  const apiKey = env[AI_ENV.apiKey];
  if (apiKey) settings.apiKey = apiKey;
  const defaultModel = env[AI_ENV.defaultModel]?.trim();
  if (defaultModel) settings.defaultModel = defaultModel;
  return Object.freeze(settings);
}
