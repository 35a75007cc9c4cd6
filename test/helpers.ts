import { once } from "node:events";
import WebSocket from "ws";
import PartySocket from "partysocket";
import { startPartyhouse } from "../src/runtime/start.js";
import type { Partyhouse, StartOptions } from "../src/runtime/start.js";
import type { ErrorCode } from "../src/core/errors.js";
import type { Logger } from "../src/core/log.js";

/** A logger that records every line, so tests can assert on error codes. */
export function recordingLogger(): Logger & {
  errors: Array<{ code: ErrorCode; message: string }>;
} {
  const errors: Array<{ code: ErrorCode; message: string }> = [];
  return {
    errors,
    error(code, message) {
      errors.push({ code, message });
    },
    warn() {},
    info() {},
    debug() {},
  };
}

const running = new Set<Partyhouse>();

/** Starts a real server on 127.0.0.1, port 0. */
export async function serve(options: StartOptions): Promise<Partyhouse> {
  const ph = await startPartyhouse(options);
  running.add(ph);
  return ph;
}

export async function closeAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.close()));
  running.clear();
}

export function wsUrl(ph: Partyhouse, path: string): string {
  return ph.url.replace("http", "ws") + path;
}

/** A ws client that queues every message, for `next()` in order. */
export class Client {
  readonly ws: WebSocket;
  private readonly queue: Array<string | Buffer> = [];
  private waiters: Array<(m: string | Buffer) => void> = [];
  closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, protocols?: string[]) {
    this.ws = new WebSocket(url, protocols);
    this.ws.on("message", (data: Buffer, isBinary: boolean) => {
      const m = isBinary ? data : data.toString();
      const w = this.waiters.shift();
      if (w) w(m);
      else this.queue.push(m);
    });
    this.closed = new Promise((resolve) => {
      this.ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.ws.on("error", () => {});
  }

  async open(): Promise<this> {
    if (this.ws.readyState === WebSocket.OPEN) return this;
    await once(this.ws, "open");
    return this;
  }

  next(timeoutMs = 5000): Promise<string | Buffer> {
    const m = this.queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const waiter = (msg: string | Buffer) => {
        clearTimeout(t);
        resolve(msg);
      };
      // A waiter that timed out must not swallow the message that comes later.
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error("timed out waiting for a message"));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async nextText(timeoutMs?: number): Promise<string> {
    const m = await this.next(timeoutMs);
    if (typeof m !== "string") throw new Error("expected a text message");
    return m;
  }

  async nextJson<T = unknown>(timeoutMs?: number): Promise<T> {
    return JSON.parse(await this.nextText(timeoutMs)) as T;
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }

  close(code?: number): void {
    this.ws.close(code);
  }
}

export async function connect(ph: Partyhouse, path: string): Promise<Client> {
  return new Client(wsUrl(ph, path)).open();
}

/** The official partysocket client, on ws (Node 20 has no global WebSocket). */
export function partySocket(
  ph: Partyhouse,
  opts: { room: string; party?: string; id?: string; query?: Record<string, string> },
): PartySocket {
  return new PartySocket({
    host: new URL(ph.url).host,
    room: opts.room,
    ...(opts.party ? { party: opts.party } : {}),
    ...(opts.id ? { id: opts.id } : {}),
    ...(opts.query ? { query: opts.query } : {}),
    WebSocket: WebSocket as never,
    maxRetries: 50,
    minReconnectionDelay: 50,
    maxReconnectionDelay: 200,
  });
}

export function waitFor<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = async () => {
      try {
        const v = await fn();
        if (v !== undefined && v !== false) return resolve(v);
      } catch (e) {
        return reject(e);
      }
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    void tick();
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
