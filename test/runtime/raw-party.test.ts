// The raw-party contract (partyhouse/raw), used the way a third-party party would: only its
// public symbols and types. Socket.IO is built on the same contract (test/socketio).
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import WebSocket from "ws";
import * as publicApi from "../../src/index.js";
import { BUSY, DISPOSE, RAW_HANDLER, RAW_ROUTE } from "../../src/raw-party.js";
import type { RawRequest, RawUpgrade } from "../../src/raw-party.js";
import { closeAll, serve, waitFor } from "../helpers.js";

const disposed: string[] = [];

class Raw {
  static readonly [RAW_HANDLER] = true;
  static [RAW_ROUTE](pathname: string): string | null {
    return pathname.startsWith("/raw/") ? pathname.slice(5) || null : null;
  }
  constructor(readonly room: { id: string }) {}
  [RAW_HANDLER](kind: "request" | "upgrade", raw: unknown): void {
    if (kind === "request") {
      const { req, res } = raw as RawRequest;
      res.end(`raw ${this.room.id} ${req.url}`);
    } else {
      const { socket } = raw as RawUpgrade;
      socket.end("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n");
    }
  }
  [BUSY](): boolean {
    return false;
  }
  [DISPOSE](): void {
    disposed.push(this.room.id);
  }
}

class Main {
  onRequest(): Response {
    return new Response("main");
  }
}

describe("the raw-party contract", () => {
  after(closeAll);

  it("hands a declared route's requests and upgrades to the party, raw", async () => {
    const ph = await serve({ parties: { main: Main, raw: Raw }, limits: { idleTimeoutMs: 50 } });
    assert.equal(await (await fetch(`${ph.url}/raw/r1?x=1`)).text(), "raw r1 /raw/r1?x=1");
    assert.equal(
      await (await fetch(`${ph.url}/parties/raw/r2/any`)).text(),
      "raw r2 /parties/raw/r2/any",
    );
    assert.equal(await (await fetch(`${ph.url}/parties/main/m`)).text(), "main");
    const ws = new WebSocket(`${ph.url.replace("http", "ws")}/raw/r3`);
    ws.on("error", () => {});
    const [, res] = (await once(ws, "unexpected-response")) as [unknown, { statusCode: number }];
    assert.equal(res.statusCode, 418);
    await waitFor(() => disposed.includes("r1"), 10_000, "DISPOSE when the room is evicted");
  });

  it("is the whole of what the main entry exports, besides startPartyhouse and friends", () => {
    assert.deepEqual(Object.keys(publicApi).sort(), [
      "ErrorCodes",
      "OpenAIForwardingAi",
      "PartyhouseError",
      "aiSettingsFromEnv",
      "createLogger",
      "createStorageProvider",
      "defaultLimits",
      "installWorkerdGlobals",
      "startPartyhouse",
      "unconfiguredAi",
    ]);
  });
});
