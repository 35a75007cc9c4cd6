/**
 * `room.context.ai` through the real CLI, forwarding to a small OpenAI-compatible server this
 * test starts (the shape llama.cpp's server, Ollama and vLLM answer), and the coded error of a
 * server without AI settings.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startCli } from "../cli/cli-helpers.js";
import { project } from "./helpers.js";

interface Seen {
  path: string;
  auth: string | undefined;
  body: Record<string, unknown>;
}

/** A minimal OpenAI-compatible API: chat completions (plain and streamed) and embeddings. */
async function fakeOpenAI(): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const read = async (req: IncomingMessage) => {
    let text = "";
    for await (const chunk of req) text += String(chunk);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const server = createServer((req, res) => {
    void read(req).then((body) => {
      seen.push({ path: req.url ?? "", auth: req.headers.authorization, body });
      if (body["model"] === "broken") {
        res.writeHead(500, { "content-type": "text/plain" }).end("model exploded");
        return;
      }
      if (req.url === "/v1/chat/completions") {
        const messages = body["messages"] as Array<{ content: string }>;
        const reply = `echo: ${messages[messages.length - 1]!.content}`;
        if (body["stream"] === true) {
          res.writeHead(200, { "content-type": "text/event-stream" });
          for (const word of reply.split(" ")) {
            const chunk = { choices: [{ index: 0, delta: { content: word + " " } }] };
            res.write(`data: ${JSON.stringify(chunk)}\n\n`);
          }
          res.end("data: [DONE]\n\n");
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            choices: [{ index: 0, message: { role: "assistant", content: reply } }],
          }),
        );
        return;
      }
      if (req.url === "/v1/embeddings") {
        const input = body["input"] as string[];
        const data = input.map((t, index) => ({ index, embedding: [t.length, index, 0.5] }));
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ data: data.reverse() }));
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, server };
}

const party = `
import type * as Party from "partykit/server";
type Ai = { run(model: string, inputs: unknown): Promise<any>; apiGateway?: string; apiToken?: string; binding?: { fetch(): Promise<unknown> } };
const coded = (e: any) => Response.json({ code: e.code, message: e.message }, { status: 500 });

export default class Main implements Party.Server {
  constructor(readonly room: Party.Room) {}
  async onRequest(req: Party.Request) {
    const ai = this.room.context.ai as unknown as Ai;
    const what = new URL(req.url).pathname.split("/").pop();
    try {
      if (what === "run") {
        return Response.json(await ai.run("@cf/meta/llama-3-8b-instruct", {
          messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hello there" }],
          max_tokens: 32,
        }));
      }
      if (what === "prompt") return Response.json(await ai.run("@cf/mistral/mistral-7b-instruct-v0.1", { prompt: "just a prompt" }));
      if (what === "embed") return Response.json(await ai.run("@cf/baai/bge-small-en-v1.5", { text: ["a", "bcd"] }));
      if (what === "broken") return Response.json(await ai.run("@cf/broken", { prompt: "x" }));
      if (what === "nothing") return Response.json(await ai.run("@cf/x", { image: [1, 2] }));
      if (what === "binding-fetch") return Response.json(await ai.binding!.fetch());
      if (what === "gateway") {
        // What partykit-ai's Ai.run does with an apiGateway: POST <gateway>/<model>, JSON in, { result } out.
        const res = await fetch(ai.apiGateway + "/@cf/meta/llama-2-7b-chat-int8", {
          method: "POST",
          headers: { authorization: "Bearer " + ai.apiToken, "content-type": "application/json" },
          body: JSON.stringify({ messages: [{ role: "user", content: "via gateway" }] }),
        });
        return Response.json({ type: res.headers.get("content-type"), body: await res.json() });
      }
      if (what === "gateway-stream") {
        const res = await fetch(ai.apiGateway + "/@cf/meta/llama-2-7b-chat-int8", {
          method: "POST",
          headers: { authorization: "Bearer " + ai.apiToken },
          body: JSON.stringify({ prompt: "streamed words", stream: true }),
        });
        return new Response(res.body, { headers: { "content-type": res.headers.get("content-type")! } });
      }
      if (what === "gateway-unauthorized") {
        const res = await fetch(ai.apiGateway + "/@cf/x", { method: "POST", body: "{}" });
        return new Response(String(res.status));
      }
    } catch (e) {
      return coded(e);
    }
    return new Response("?", { status: 404 });
  }

  static async onFetch(req: Party.Request, lobby: Party.FetchLobby) {
    const ai = lobby.ai as unknown as Ai;
    const stream = await ai.run("@cf/meta/llama-3-8b-instruct", { messages: [{ role: "user", content: "stream me" }], stream: true });
    return new Response(stream, { headers: { "content-type": "text/event-stream" } });
  }
}
`;

const running: Server[] = [];
after(() => {
  for (const s of running) s.close();
});

describe("room.context.ai", () => {
  it("forwards Workers AI run() calls to an OpenAI-compatible API, with the model mapping", async () => {
    const api = await fakeOpenAI();
    running.push(api.server);
    const root = project({
      "partykit.json": JSON.stringify({ name: "ai", main: "src/server.ts", ai: true }),
      "src/server.ts": party,
    });
    const dev = await startCli(["dev", "-p", "0"], root, {
      PARTYHOUSE_AI_URL: `${api.url}/v1/`,
      PARTYHOUSE_AI_KEY: "sk-test",
      PARTYHOUSE_AI_MODELS: JSON.stringify({
        "@cf/meta/llama-3-8b-instruct": "tiny-chat",
        "@cf/broken": "broken",
      }),
      PARTYHOUSE_AI_MODEL: "fallback-model",
    });
    const get = async (what: string) => (await fetch(`${dev.url}/parties/main/r/${what}`)).json();

    assert.deepEqual(await get("run"), { response: "echo: hello there" });
    const chat = api.seen.at(-1)!;
    assert.equal(chat.path, "/v1/chat/completions");
    assert.equal(chat.auth, "Bearer sk-test");
    assert.equal(chat.body["model"], "tiny-chat");
    assert.equal(chat.body["max_tokens"], 32);
    assert.equal((chat.body["messages"] as unknown[]).length, 2);

    assert.deepEqual(await get("prompt"), { response: "echo: just a prompt" });
    assert.equal(api.seen.at(-1)!.body["model"], "fallback-model");

    assert.deepEqual(await get("embed"), {
      shape: [2, 3],
      data: [
        [1, 0, 0.5],
        [3, 1, 0.5],
      ],
    });
    assert.equal(api.seen.at(-1)!.path, "/v1/embeddings");

    const broken = (await get("broken")) as { code: string; message: string };
    assert.equal(broken.code, "PH_ERR_AI");
    assert.match(broken.message, /answered 500: model exploded/);
    const nothing = (await get("nothing")) as { code: string; message: string };
    assert.equal(nothing.code, "PH_ERR_AI");
    assert.match(nothing.message, /text generation .* and embeddings/);

    // The Workers AI event stream, from a static onFetch's lobby.ai.
    const streamed = await (await fetch(`${dev.url}/anything`)).text();
    assert.equal(
      streamed,
      'data: {"response":"echo: "}\n\ndata: {"response":"stream "}\n\ndata: {"response":"me "}\n\ndata: [DONE]\n\n',
    );

    // partykit-ai's protocol on the loopback gateway.
    assert.deepEqual(await get("gateway"), {
      type: "application/json",
      body: { result: { response: "echo: via gateway" } },
    });
    assert.equal(api.seen.at(-1)!.body["model"], "fallback-model");
    const gatewayStream = await (await fetch(`${dev.url}/parties/main/r/gateway-stream`)).text();
    assert.equal(
      gatewayStream,
      'data: {"response":"echo: "}\n\ndata: {"response":"streamed "}\n\ndata: {"response":"words "}\n\ndata: [DONE]\n\n',
    );
    assert.equal(
      await (await fetch(`${dev.url}/parties/main/r/gateway-unauthorized`)).text(),
      "401",
    );

    dev.child.kill("SIGTERM");
    await dev.exited;
  });

  it("without settings, every use fails with PH_ERR_AI_NOT_CONFIGURED naming what to set", async () => {
    const root = project({
      "partykit.json": JSON.stringify({ name: "ai-off", main: "src/server.ts", ai: true }),
      "src/server.ts": party,
    });
    const dev = await startCli(["dev", "-p", "0"], root, { PARTYHOUSE_AI_URL: "" });
    await dev.waitForOutput(/PARTYHOUSE_AI_URL is not set/, 10000);
    for (const what of ["run", "binding-fetch"]) {
      const body = (await (await fetch(`${dev.url}/parties/main/r/${what}`)).json()) as {
        code: string;
        message: string;
      };
      assert.equal(body.code, "PH_ERR_AI_NOT_CONFIGURED");
      assert.match(body.message, /"ai": true in partykit\.json and PARTYHOUSE_AI_URL/);
    }
    dev.child.kill("SIGTERM");
    await dev.exited;
  });

  it("refuses a PARTYHOUSE_AI_MODELS that is not a JSON object of names, naming the variable", async () => {
    const root = project({
      "partykit.json": JSON.stringify({ name: "ai-bad", main: "src/server.ts", ai: true }),
      "src/server.ts": party,
    });
    await assert.rejects(
      startCli(["dev", "-p", "0"], root, {
        PARTYHOUSE_AI_URL: "http://127.0.0.1:9/v1",
        PARTYHOUSE_AI_MODELS: "[1,2]",
      }),
      /PH_ERR_CONFIG.*PARTYHOUSE_AI_MODELS must be a JSON object/s,
    );
  });
});
