import type { IncomingMessage } from "node:http";
import { checkHost, checkTarget } from "./target.js";

/**
 * A Web `Request` for a Node request. The body is a stream that attaches to `req` only when
 * first read, so a raw party (Socket.IO) that never reads it can still consume `req` itself.
 * Throws PH_ERR_BAD_REQUEST (status 400) for a Host or request target that could make the URL
 * say something the request line does not (see target.ts).
 */
export function toWebRequest(
  req: IncomingMessage,
  secure = false,
  trustProxy = false,
  /** The origin the client used, from a verified forwarding node (see node-auth.ts). */
  nodeOrigin?: string,
): Request {
  let host = checkHost(req.headers.host);
  let scheme = secure ? "https" : "http";
  if (trustProxy) {
    // A chain of proxies appends: the first value is what the client used.
    const proto = firstValue(req.headers["x-forwarded-proto"]);
    if (proto === "https" || proto === "http") scheme = proto;
    const fwdHost = firstValue(req.headers["x-forwarded-host"]);
    if (fwdHost) host = checkHost(fwdHost);
  }
  const url =
    nodeOrigin === undefined
      ? `${scheme}://${host}${checkTarget(req.url)}`
      : `${nodeOrigin}${checkTarget(req.url)}`;
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // HTTP/2 pseudo-headers never reach here over HTTP/1.1; skip anything Headers rejects.
    if (name.charCodeAt(0) === 58) continue;
    // A verified node's own headers served their purpose; the room never sees them.
    if (nodeOrigin !== undefined && name.toLowerCase().startsWith("x-partyhouse-node-")) continue;
    try {
      headers.append(name, raw[i + 1]!);
    } catch {}
  }
  const method = req.method ?? "GET";
  if (method === "GET" || method === "HEAD") return new Request(url, { method, headers });
  return new Request(url, { method, headers, body: lazyBody(req), duplex: "half" } as RequestInit);
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  return text?.split(",")[0]?.trim().toLowerCase() || undefined;
}

function lazyBody(req: IncomingMessage): ReadableStream<Uint8Array> {
  let attached = false;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (attached) {
          req.resume();
          return;
        }
        attached = true;
        req.on("data", (chunk: Buffer) => {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.on("end", () => controller.close());
        req.on("error", (e) => controller.error(e));
      },
      cancel() {
        req.destroy();
      },
    },
    // A ReadableStream pulls once right after construction unless its high-water mark is 0: that
    // would attach to `req` and swallow the body a raw party (Engine.IO's polling POST) reads itself.
    { highWaterMark: 0 },
  );
}
