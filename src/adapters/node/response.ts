import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { STATUS_CODES } from "node:http";

/** Writes a Web `Response` to a Node response, streaming the body with backpressure. */
export async function writeWebResponse(
  res: ServerResponse,
  response: Response,
  head = false,
): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (name === "set-cookie") continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  if (response.body === null || head) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off("drain", done);
            res.off("close", done);
            resolve();
          };
          res.on("drain", done);
          res.on("close", done);
        });
        if (res.destroyed) break;
      }
    }
    res.end();
  } catch (e) {
    res.destroy(e instanceof Error ? e : new Error(String(e)));
  } finally {
    reader.releaseLock();
  }
}

/** Answers an upgrade request with a plain HTTP response, then closes the socket. */
export async function writeUpgradeRefusal(socket: Duplex, response: Response): Promise<void> {
  const body = new Uint8Array(await response.arrayBuffer());
  const lines = [
    `HTTP/1.1 ${response.status} ${response.statusText || STATUS_CODES[response.status] || ""}`,
  ];
  for (const [name, value] of response.headers) {
    if (name === "content-length" || name === "connection" || name === "transfer-encoding")
      continue;
    lines.push(`${name}: ${value}`);
  }
  lines.push(`content-length: ${body.byteLength}`, "connection: close", "", "");
  if (!socket.writable) return;
  socket.write(lines.join("\r\n"));
  socket.end(body);
}
