/**
 * An OpenAI chat-completions event stream turned into the one Workers AI streams: each
 * `data: {"choices":[{"delta":{"content":"…"}}]}` becomes `data: {"response":"…"}`, and the
 * stream ends with `data: [DONE]` (what partykit-ai and Workers AI clients read).
 */
const encoder = new TextEncoder();

function deltaOf(json: unknown): string | undefined {
  const choice = (json as { choices?: Array<{ delta?: { content?: unknown }; text?: unknown }> })
    ?.choices?.[0];
  const content = choice?.delta?.content ?? choice?.text;
  return typeof content === "string" ? content : undefined;
}

/** Transforms the endpoint's SSE bytes into Workers AI SSE bytes. */
export function workersAiStream(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  let buffer = "";
  let done = false;
  const decoder = new TextDecoder();
  const line = (text: string, out: TransformStreamDefaultController<Uint8Array>) => {
    if (!text.startsWith("data:")) return;
    const data = text.slice(5).trim();
    if (data === "[DONE]") {
      if (!done) out.enqueue(encoder.encode("data: [DONE]\n\n"));
      done = true;
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return;
    }
    const delta = deltaOf(json);
    if (delta !== undefined && delta !== "") {
      out.enqueue(encoder.encode(`data: ${JSON.stringify({ response: delta })}\n\n`));
    }
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        buffer += decoder.decode(chunk, { stream: true });
        let at: number;
        while ((at = buffer.indexOf("\n")) >= 0) {
          line(buffer.slice(0, at).replace(/\r$/, ""), out);
          buffer = buffer.slice(at + 1);
        }
      },
      flush(out) {
        buffer += decoder.decode();
        if (buffer !== "") line(buffer.replace(/\r$/, ""), out);
        if (!done) out.enqueue(encoder.encode("data: [DONE]\n\n"));
      },
    }),
  );
}
