/**
 * The loopback endpoint partykit-ai talks to. `new Ai(room.context.ai)` (partykit-ai) posts
 * `POST <apiGateway>/<model>` with the inputs as JSON and a bearer token, and reads back
 * `{ result }` as `application/json` or a Workers AI event stream: the protocol of PartyKit's
 * own AI gateway. This server answers it on 127.0.0.1 with an ephemeral port and a random token,
 * running each call through the binding's `run()`.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { errorMessage, PartyhouseError } from "../core/errors.js";
import type { Logger } from "../core/log.js";

const MAX_BODY = 16 * 1024 * 1024;

export interface AiGateway {
  /** `http://127.0.0.1:<port>`: partykit-ai's `apiGateway`. */
  readonly url: string;
  /** partykit-ai's `apiToken`. */
  readonly token: string;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY)
      throw new PartyhouseError("PH_ERR_AI", "AI request body too large", { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Starts the gateway in front of `run` (the binding's Workers AI call). */
export async function startAiGateway(
  run: (model: string, inputs: Record<string, unknown>) => Promise<unknown>,
  log: Logger,
): Promise<AiGateway> {
  const token = randomBytes(24).toString("base64url");

  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { "content-type": "text/plain" }).end("Unauthorized");
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(405, { "content-type": "text/plain", allow: "POST" }).end("Method Not Allowed");
      return;
    }
    const model = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname.slice(1));
    let inputs: unknown;
    try {
      inputs = JSON.parse(await readBody(req));
    } catch (e) {
      const status = e instanceof PartyhouseError ? e.status : 400;
      res
        .writeHead(status, { "content-type": "text/plain" })
        .end(`[PH_ERR_AI] ${e instanceof PartyhouseError ? e.message : "the body is not JSON"}`);
      return;
    }
    try {
      const result = await run(model, inputs as Record<string, unknown>);
      if (result instanceof ReadableStream) {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        Readable.fromWeb(result as NodeReadableStream<Uint8Array>).pipe(res);
        return;
      }
      // partykit-ai compares the content type exactly: no charset parameter.
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ result }));
    } catch (e) {
      const code = e instanceof PartyhouseError ? e.code : "PH_ERR_AI";
      const status = e instanceof PartyhouseError ? e.status : 502;
      log.error(code, errorMessage(e), { model });
      res.writeHead(status, { "content-type": "text/plain" }).end(`[${code}] ${errorMessage(e)}`);
    }
  };

  const server = createServer((req, res) => {
    answer(req, res).catch((e: unknown) => {
      log.error("PH_ERR_INTERNAL", `AI gateway: ${errorMessage(e)}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
