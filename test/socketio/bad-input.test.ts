import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { connect as netConnect } from "node:net";
import type { AddressInfo } from "node:net";
import { Server as StandaloneServer } from "socket.io";
import type { Server as IOServer } from "socket.io";
import WebSocket from "ws";
import { createServer } from "../../src/socketio/index.js";
import type { SocketIOOptions } from "../../src/socketio/index.js";
import { closeAll, serve } from "../helpers.js";
import { client, connected, disconnectClients } from "./sio-helpers.js";

/**
 * Malformed and hostile requests get exactly what a standalone Socket.IO server (same options)
 * answers, and never disturb a client connected to another room of the same server.
 */
// A short ping interval, so a long-poll on a live session answers ("2") without a long wait.
const options: SocketIOOptions = { maxHttpBufferSize: 1000, pingInterval: 200 };
const setup = (io: IOServer) => {
  io.on("connection", (socket) => socket.on("ping", (ack: (v: string) => void) => ack("pong")));
};
const Party = createServer(options, setup);

/** Base URL and a query suffix: the room `victim` on partyhouse, nothing on standalone. */
interface Target {
  name: string;
  url: string;
  q: string;
}
let targets: Target[] = [];
let closeStandalone: () => Promise<void>;
let bystander: ReturnType<typeof client>;

before(async () => {
  const ph = await serve({ parties: { main: Party } });
  const http = createHttpServer();
  const io = new StandaloneServer(http, { ...options });
  setup(io);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  closeStandalone = () => io.close();
  targets = [
    { name: "partyhouse", url: ph.url, q: "&partyId=victim" },
    { name: "standalone", url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, q: "" },
  ];
  bystander = await connected(
    client(ph, { transports: ["websocket"], query: { partyId: "bystander" } }),
  );
});
afterEach(async () => {
  // After every kind of bad input, the other room still answers on its open connection.
  assert.ok(bystander.connected);
  assert.equal(await bystander.timeout(2000).emitWithAck("ping"), "pong");
});
after(async () => {
  disconnectClients();
  await closeStandalone();
  await closeAll();
});

interface Answer {
  status: number;
  type: string | null;
  body: string;
}
async function answer(res: Response): Promise<Answer> {
  return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
}

/** Runs `probe` against both servers and checks they answered the same. */
async function same(probe: (t: Target) => Promise<unknown>): Promise<unknown> {
  const [ours, theirs] = [await probe(targets[0]!), await probe(targets[1]!)];
  assert.deepEqual(ours, theirs);
  return ours;
}

async function handshake(t: Target): Promise<string> {
  const res = await fetch(`${t.url}/socket.io/?EIO=4&transport=polling${t.q}`);
  const body = await res.text();
  return (JSON.parse(body.slice(1)) as { sid: string }).sid;
}

describe("bad input, as standalone Socket.IO answers it", () => {
  it("unknown sid: 400 with Engine.IO's JSON body", async () => {
    const got = await same(async (t) =>
      answer(await fetch(`${t.url}/socket.io/?EIO=4&transport=polling&sid=nope${t.q}`)),
    );
    assert.deepEqual(got, {
      status: 400,
      type: "application/json",
      body: '{"code":1,"message":"Session ID unknown"}',
    });
  });

  it("unknown transport, missing or bad EIO, bad handshake method", async () => {
    const cases: Array<[string, RequestInit?]> = [
      ["/socket.io/?EIO=4&transport=carrier-pigeon"],
      ["/socket.io/?EIO=4"],
      ["/socket.io/?transport=polling"],
      ["/socket.io/?EIO=abc&transport=polling"],
      ["/socket.io/?EIO=4&transport=polling", { method: "POST", body: "40" }],
      ["/socket.io/?EIO=4&transport=polling", { method: "PUT", body: "x" }],
    ];
    for (const [path, init] of cases) {
      const got = (await same(async (t) =>
        answer(await fetch(`${t.url}${path}${t.q}`, init)),
      )) as Answer;
      assert.equal(got.status, 400, path);
    }
  });

  it("a polling request for a session that is not on polling, and a body over maxHttpBufferSize", async () => {
    const got = await same(async (t) => {
      const sid = await handshake(t);
      const wrong = await answer(
        await fetch(`${t.url}/socket.io/?EIO=4&transport=websocket&sid=${sid}${t.q}`),
      );
      const sid2 = await handshake(t);
      const big = await fetch(`${t.url}/socket.io/?EIO=4&transport=polling&sid=${sid2}${t.q}`, {
        method: "POST",
        body: "4" + "x".repeat(5000),
      });
      const after = await answer(
        await fetch(`${t.url}/socket.io/?EIO=4&transport=polling&sid=${sid2}${t.q}`),
      );
      return { wrong, big: big.status, after };
    });
    assert.deepEqual(got, {
      wrong: { status: 400, type: "application/json", body: '{"code":3,"message":"Bad request"}' },
      big: 413,
      // Engine.IO refuses the oversized POST but keeps the session: the next poll gets a ping.
      after: { status: 200, type: "text/plain; charset=UTF-8", body: "2" },
    });
  });

  it("a WebSocket upgrade with an unknown sid gets the same raw HTTP refusal", async () => {
    const got = (await same(
      (t) =>
        new Promise<string>((resolve, reject) => {
          const { port } = new URL(t.url);
          const sock = netConnect(Number(port), "127.0.0.1");
          let data = "";
          sock.on("data", (d) => (data += d.toString()));
          sock.on("close", () => resolve(data));
          sock.on("error", reject);
          sock.write(
            `GET /socket.io/?EIO=4&transport=websocket&sid=nope${t.q} HTTP/1.1\r\n` +
              "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
          );
        }),
    )) as string;
    assert.match(got, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.ok(got.endsWith("\r\n\r\nSession ID unknown"));
  });

  it("garbage Socket.IO packets close that connection only", async () => {
    await same(
      (t) =>
        new Promise<{ code: number; messages: string[] }>((resolve, reject) => {
          const ws = new WebSocket(
            `${t.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket${t.q}`,
          );
          const messages: string[] = [];
          ws.on("message", (m) => {
            messages.push(m.toString().replace(/"sid":"[^"]+"/, '"sid":"…"'));
            if (messages.length === 1) ws.send("40");
            if (messages.length === 2) ws.send("4abc");
          });
          ws.on("close", (code) => resolve({ code, messages }));
          ws.on("error", reject);
        }),
    );
  });
});
