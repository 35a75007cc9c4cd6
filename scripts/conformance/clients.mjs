/* global fetch */
// What a user's clients see, as plain data: `fetch` responses, `ws` sessions, raw HTTP over `net`
// (for paths `fetch` would normalize), and raw WebSocket frames (for malformed input).
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import WebSocket from "ws";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Parses JSON bodies and messages when they are JSON, so results read as data. */
export function maybeJson(text) {
  if (typeof text !== "string") return text;
  const t = text.trim();
  if (!(t.startsWith("{") || t.startsWith("["))) return text;
  try {
    return JSON.parse(t);
  } catch {
    return text;
  }
}

export class Target {
  /** @param {string} base e.g. http://127.0.0.1:1999 */
  constructor(base) {
    this.base = base.replace(/\/$/, "");
    const u = new URL(this.base);
    this.hostname = u.hostname;
    this.port = Number(u.port || 80);
  }

  /**
   * One HTTP request. Returns status and body, plus the named response headers.
   * @param {string} path
   * @param {RequestInit & { pick?: string[] }} [init]
   */
  async http(path, init = {}) {
    const { pick = [], ...rest } = init;
    const res = await fetch(this.base + path, { redirect: "manual", ...rest });
    const body = await res.text();
    const out = { status: res.status, body: maybeJson(body) };
    for (const h of pick) out[h] = res.headers.get(h);
    return out;
  }

  /** Opens a WebSocket session that records everything the client sees. */
  ws(path, options = {}) {
    return new Session(this.base.replace(/^http/, "ws") + path, options);
  }

  /** A request written byte for byte: the path is sent as is. */
  raw(path, { method = "GET", headers = {} } = {}) {
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${this.hostname}:${this.port}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    lines.push("Connection: close", "", "");
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, this.hostname);
      const chunks = [];
      socket.on("data", (d) => chunks.push(d));
      socket.on("error", reject);
      socket.on("close", () => resolve(parseHttp(Buffer.concat(chunks))));
      socket.write(lines.join("\r\n"));
    });
  }

  /**
   * A raw WebSocket: the handshake by hand, then `frame()` writes any (masked) frame and the
   * session records the server's frames. For what `ws` refuses to send (invalid UTF-8).
   */
  async rawWs(path) {
    const key = randomBytes(16).toString("base64");
    const socket = net.connect(this.port, this.hostname);
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.write(
      [
        `GET ${path} HTTP/1.1`,
        `Host: ${this.hostname}:${this.port}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Key: ${key}`,
        "Sec-WebSocket-Version: 13",
        "",
        "",
      ].join("\r\n"),
    );
    return new RawWs(socket, key);
  }
}

function parseHttp(buf) {
  const end = buf.indexOf("\r\n\r\n");
  if (end === -1) return { status: 0, body: buf.toString() };
  const head = buf.subarray(0, end).toString().split("\r\n");
  const status = Number(head[0].split(" ")[1]);
  const headers = Object.fromEntries(
    head
      .slice(1)
      .map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
  );
  let body = buf.subarray(end + 4);
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) body = dechunk(body);
  return { status, body: maybeJson(body.toString()) };
}

function dechunk(buf) {
  const parts = [];
  let i = 0;
  for (;;) {
    const eol = buf.indexOf("\r\n", i);
    if (eol === -1) break;
    const size = parseInt(buf.subarray(i, eol).toString(), 16);
    if (!size) break;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** A `ws` client session: opened or refused, messages in order, the close it saw. */
export class Session {
  constructor(url, { headers, protocols, timeoutMs = 5000 } = {}) {
    this.messages = [];
    this.waiters = [];
    this.timeoutMs = timeoutMs;
    this.withProtocols = protocols !== undefined;
    this.ws = new WebSocket(url, protocols ?? [], { headers });
    this.ws.binaryType = "nodebuffer";
    this.refused = null;
    this.closeInfo = null;
    this.opened = new Promise((resolve) => {
      this.ws.on("open", () => resolve(true));
      this.ws.on("unexpected-response", (req, res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => {
          this.refused = { status: res.statusCode, body: maybeJson(body) };
          req.destroy();
          resolve(false);
        });
      });
      this.ws.on("error", (e) => {
        if (!this.refused) this.error = e.message;
        setTimeout(() => resolve(false), 200);
      });
    });
    this.closed = new Promise((resolve) => {
      this.ws.on("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        for (const w of this.waiters.splice(0)) w(undefined);
      });
    });
    this.ws.on("message", (data, isBinary) => {
      const m = isBinary ? { binary: [...data] } : maybeJson(data.toString());
      const w = this.waiters.shift();
      if (w) w(m);
      else this.messages.push(m);
    });
  }

  /** The next message, or `{ timeout: true }` / `{ closed: … }`: never throws. */
  next(timeoutMs = this.timeoutMs) {
    if (this.messages.length > 0) return Promise.resolve(this.messages.shift());
    if (this.closeInfo) return Promise.resolve({ closed: this.closeInfo });
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        resolve({ timeout: true });
      }, timeoutMs);
      const w = (m) => {
        clearTimeout(t);
        resolve(m === undefined ? { closed: this.closeInfo } : m);
      };
      this.waiters.push(w);
    });
  }

  async nextN(n, timeoutMs) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await this.next(timeoutMs));
    return out;
  }

  /** Whatever arrives within `ms`, then nothing more. */
  async drain(ms = 300) {
    await sleep(ms);
    return this.messages.splice(0);
  }

  send(data) {
    this.ws.send(typeof data === "object" && !Buffer.isBuffer(data) ? JSON.stringify(data) : data);
  }

  /** Opened-or-refused plus, when it closes on its own, how. */
  async outcome(waitCloseMs = 3000, firstMs = 5000) {
    const ok = await this.opened;
    if (!ok) return this.refused ? { refused: this.refused } : { error: this.error ?? "failed" };
    const first = await this.next(firstMs);
    const closed = await Promise.race([this.closed, sleep(waitCloseMs).then(() => null)]);
    if (closed === null) await this.close();
    if (this.withProtocols) return { opened: true, protocol: this.ws.protocol, first, closed };
    return { opened: true, first, closed };
  }

  close(code, reason) {
    try {
      this.ws.close(code, reason);
    } catch {}
    return Promise.race([this.closed, sleep(2000)]);
  }
}

class RawWs {
  constructor(socket, key) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.handshake = null;
    this.frames = [];
    this.ended = false;
    this.expectAccept = createHash("sha1")
      .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
      .digest("base64");
    socket.on("data", (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on("close", () => (this.ended = true));
    socket.on("error", () => {});
  }

  parse() {
    if (this.handshake === null) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = this.buf.subarray(0, end).toString();
      this.handshake = {
        status: Number(head.split(" ")[1]),
        accept: head.includes(this.expectAccept),
      };
      this.buf = this.buf.subarray(end + 4);
    }
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0] & 0x0f;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (opcode === 8) {
        this.frames.push({
          close: payload.length >= 2 ? payload.readUInt16BE(0) : null,
          reason: payload.subarray(2).toString(),
        });
      } else if (opcode === 1) this.frames.push({ text: maybeJson(payload.toString()) });
      else if (opcode === 2) this.frames.push({ binary: [...payload] });
    }
  }

  /** Writes one masked frame with FIN set. */
  frame(opcode, payload) {
    const mask = randomBytes(4);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    const head =
      payload.length < 126
        ? Buffer.from([0x80 | opcode, 0x80 | payload.length])
        : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    this.socket.write(Buffer.concat([head, mask, masked]));
  }

  async waitFor(pred, ms = 3000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !pred()) await sleep(20);
  }

  destroy() {
    this.socket.destroy();
  }
}
