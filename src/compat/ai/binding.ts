/**
 * `room.context.ai` on partyhouse: Workers AI's `run(model, inputs)` forwarded to an
 * OpenAI-compatible API. Text generation (`messages` or `prompt`, optionally `stream: true`)
 * goes to `/chat/completions` and answers `{ response }` (or a Workers AI event stream);
 * embeddings (`text`) go to `/embeddings` and answer `{ shape, data }`. Without settings, every
 * use fails with PH_ERR_AI_NOT_CONFIGURED saying how to configure it.
 */
import { PartyhouseError } from "../../core/errors.js";
import { workersAiStream } from "./openai-sse.js";
import { AI_ENV } from "./settings.js";
import type { AiSettings } from "./settings.js";

/** What party code finds in `room.context.ai` / `lobby.ai`. */
export interface AiBinding {
  /** Workers AI's binding call: `await room.context.ai.run("@cf/meta/llama-3-8b-instruct", { messages })`. */
  run(model: string, inputs: Record<string, unknown>): Promise<unknown>;
  /** For partykit-ai (`new Ai(room.context.ai)`): the loopback gateway it posts to. */
  apiGateway?: string;
  apiToken?: string;
}

const HOW_TO =
  `set "ai": true in partykit.json and ${AI_ENV.url} to the base URL of an OpenAI-compatible API ` +
  `(for example http://127.0.0.1:8080/v1 for llama.cpp's server, http://127.0.0.1:11434/v1 for Ollama); ` +
  `${AI_ENV.models} maps Workers AI model names to the endpoint's (see the README's AI section)`;

function notConfigured(): PartyhouseError {
  return new PartyhouseError(
    "PH_ERR_AI_NOT_CONFIGURED",
    `room.context.ai is not configured on this partyhouse server: ${HOW_TO}`,
  );
}

/**
 * The binding of a server without AI settings. partykit-ai's `new Ai(room.context.ai)` reaches
 * `binding.fetch`; Workers AI-style code calls `run`. Both fail with the coded error.
 */
export function unconfiguredAi(): AiBinding & { binding: { fetch(): Promise<never> } } {
  return {
    run: () => Promise.reject(notConfigured()),
    binding: { fetch: () => Promise.reject(notConfigured()) },
  };
}

type Inputs = Record<string, unknown>;
const PASSED_ON = [
  "max_tokens",
  "temperature",
  "top_p",
  "top_k",
  "seed",
  "stop",
  "frequency_penalty",
  "presence_penalty",
];

/** Workers AI `run()` on an OpenAI-compatible API. */
export class OpenAIForwardingAi implements AiBinding {
  apiGateway?: string;
  apiToken?: string;

  constructor(
    readonly settings: AiSettings,
    private readonly fetchImpl: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  /** The endpoint's name for a Workers AI model name. */
  modelFor(name: string): string {
    return this.settings.models[name] ?? this.settings.defaultModel ?? name;
  }

  async run(model: string, inputs: Inputs): Promise<unknown> {
    if (typeof model !== "string" || model === "") {
      throw new PartyhouseError(
        "PH_ERR_AI",
        `ai.run(model, inputs): model must be a model name, got ${typeof model}`,
        { status: 400 },
      );
    }
    if (typeof inputs !== "object" || inputs === null) {
      throw new PartyhouseError(
        "PH_ERR_AI",
        `ai.run("${model}", inputs): inputs must be an object`,
        { status: 400 },
      );
    }
    if (Array.isArray(inputs["messages"]) || typeof inputs["prompt"] === "string") {
      return this.chat(model, inputs);
    }
    if (typeof inputs["text"] === "string" || Array.isArray(inputs["text"])) {
      return this.embeddings(model, inputs["text"] as string | string[]);
    }
    throw new PartyhouseError(
      "PH_ERR_AI",
      `ai.run("${model}"): partyhouse forwards text generation (inputs.messages or inputs.prompt) and embeddings (inputs.text) to ${this.settings.url}; these inputs have neither`,
      { status: 400 },
    );
  }

  private async chat(model: string, inputs: Inputs): Promise<unknown> {
    const stream = inputs["stream"] === true;
    const messages = Array.isArray(inputs["messages"])
      ? inputs["messages"]
      : [{ role: "user", content: inputs["prompt"] }];
    const body: Record<string, unknown> = { model: this.modelFor(model), messages, stream };
    for (const key of PASSED_ON) if (inputs[key] !== undefined) body[key] = inputs[key];
    const res = await this.post("/chat/completions", model, body);
    if (stream) {
      if (res.body === null) throw this.failed(model, "the streamed answer had no body");
      return workersAiStream(res.body);
    }
    const json = (await res.json()) as { choices?: Array<{ message?: { content?: unknown } }> };
    const content = json.choices?.[0]?.message?.content;
    if (typeof content !== "string")
      throw this.failed(model, "the answer had no choices[0].message.content");
    return { response: content };
  }

  private async embeddings(model: string, text: string | string[]): Promise<unknown> {
    const res = await this.post("/embeddings", model, { model: this.modelFor(model), input: text });
    const json = (await res.json()) as { data?: Array<{ embedding?: number[]; index?: number }> };
    const rows = [...(json.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    const data = rows.map((r) => r.embedding ?? []);
    return { shape: [data.length, data[0]?.length ?? 0], data };
  }

  private async post(path: string, model: string, body: unknown): Promise<Response> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.settings.apiKey) headers["authorization"] = `Bearer ${this.settings.apiKey}`;
    let res: Response;
    try {
      res = await this.fetchImpl(this.settings.url + path, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw this.failed(
        model,
        `could not reach it (${e instanceof Error ? e.message : String(e)})`,
        e,
      );
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => "")).slice(0, 500);
      throw this.failed(model, `it answered ${res.status}${text ? `: ${text}` : ""}`);
    }
    return res;
  }

  private failed(model: string, why: string, cause?: unknown): PartyhouseError {
    return new PartyhouseError(
      "PH_ERR_AI",
      `ai.run("${model}") forwarded as model "${this.modelFor(model)}" to ${this.settings.url} failed: ${why}`,
      { status: 502, cause },
    );
  }
}
