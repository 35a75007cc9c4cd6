import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import WebSocket from "ws";
import type * as Party from "../../src/server.js";
import type { Partyhouse } from "../../src/runtime/start.js";
import { closeAll, serve, wsUrl } from "../helpers.js";

class Named implements Party.Server {
  constructor(readonly room: Party.Room) {}
  onRequest(req: Party.Request) {
    return new Response(`room ${this.room.id} ${new URL(req.url).pathname}`);
  }
  onConnect(conn: Party.Connection) {
    conn.send(`joined ${this.room.id}`);
  }
  onMessage(message: string | ArrayBuffer, sender: Party.Connection) {
    sender.send(`echo:${String(message)}`);
  }
}

/** Sends hand-written bytes and returns everything the server answered before closing. */
async function raw(ph: Partyhouse, bytes: string): Promise<string> {
  const socket = netConnect({ port: ph.port, host: "127.0.0.1" });
  let answer = "";
  socket.on("data", (d: Buffer) => (answer += d.toString("latin1")));
  socket.on("error", () => {});
  await once(socket, "connect");
  socket.write(bytes);
  await Promise.race([once(socket, "close"), once(socket, "end")]);
  socket.destroy();
  return answer;
}

const get = (target: string, host = "127.0.0.1") =>
  `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
const upgrade = (target: string, host = "127.0.0.1") =>
  `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
const status = (answer: string) => /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];

describe("routing comes from the request line, never from Host", () => {
  let ph: Partyhouse;
  before(async () => {
    ph = await serve({ parties: { main: Named } });
  });
  after(() => closeAll());

  const badHosts = [
    "127.0.0.1/parties/main/hostroom?",
    "127.0.0.1?x=1",
    "a b",
    "x:99999",
    "x:",
    "user@127.0.0.1",
    "127.0.0.1#frag",
  ];
  for (const host of badHosts) {
    it(`Host ${JSON.stringify(host)}: 400 for a request and for an upgrade`, async () => {
      const answer = await raw(ph, get("/parties/main/pathroom", host));
      assert.equal(status(answer), "400", answer);
      assert.doesNotMatch(answer, /room (hostroom|pathroom)/);
      const up = await raw(ph, upgrade("/parties/main/pathroom", host));
      assert.equal(status(up), "400", up);
    });
  }

  it("a good Host (name, IPv4, [IPv6], with a port) routes by the path", async () => {
    for (const host of ["example.com", "127.0.0.1:1999", "[::1]:80", "xn--bcher-kva.example"]) {
      const answer = await raw(ph, get("/parties/main/pathroom?q=1", host));
      assert.equal(status(answer), "200", answer);
      assert.match(answer, /room pathroom \/parties\/main\/pathroom\r\n/);
    }
  });

  const aliases = [
    "/parties\\main\\x",
    "/parties/main\\x",
    "/parties/main/x/../y",
    "/parties/main/..",
    "/parties/main/%2e%2e/y",
    "/parties/main/.%2E/y",
    "/parties/./main/x",
    "/a/../parties/main/x",
    "parties/main/x",
  ];
  for (const target of aliases) {
    it(`non-canonical path ${JSON.stringify(target)}: 400, never a room`, async () => {
      const answer = await raw(ph, get(target));
      assert.equal(status(answer), "400", answer);
      assert.doesNotMatch(answer, /room /);
      const up = await raw(ph, upgrade(target));
      assert.equal(status(up), "400", up);
      assert.doesNotMatch(up, /101 Switching/);
    });
  }

  it("an encoded slash stays inside its room id (no alias), and dots inside names are fine", async () => {
    assert.match(
      await raw(ph, get("/parties/main/a%2Fb/c")),
      /room a%2Fb \/parties\/main\/a%2Fb\/c/,
    );
    assert.match(await raw(ph, get("/parties/main/v1.2..3/.well")), /room v1\.2\.\.3 /);
  });

  it("a WebSocket to a canonical path still joins its room", async () => {
    const ws = new WebSocket(wsUrl(ph, "/parties/main/ok"));
    const [first] = (await once(ws, "message")) as [Buffer];
    assert.equal(first.toString(), "joined ok");
    ws.close();
  });
});

describe("close codes carry PartyKit's reasons", () => {
  let ph: Partyhouse;
  before(async () => {
    ph = await serve({ parties: { main: Named }, limits: { maxMessageBytes: 1024 } });
  });
  after(() => closeAll());

  it("a message over maxMessageBytes: 1009 `Message is too large: <n> > <limit>`", async () => {
    const ws = new WebSocket(wsUrl(ph, "/parties/main/big"));
    await once(ws, "open");
    ws.send("x".repeat(2000));
    const [code, reason] = (await once(ws, "close")) as [number, Buffer];
    assert.equal(code, 1009);
    assert.equal(reason.toString(), "Message is too large: 2000 > 1024");
  });

  it("a close frame whose reason is not UTF-8 is answered with 1007", async () => {
    // Hand-written frames: the upgrade, then a masked close frame with code 1000 and reason 0xff.
    const socket = netConnect({ port: ph.port, host: "127.0.0.1" });
    socket.on("error", () => {});
    await once(socket, "connect");
    let answer = Buffer.alloc(0);
    socket.on("data", (d: Buffer) => (answer = Buffer.concat([answer, d])));
    socket.write(upgrade("/parties/main/utf8"));
    const headEnd = () => answer.indexOf("\r\n\r\n");
    while (headEnd() === -1) await once(socket, "data");
    assert.match(answer.toString("latin1"), /^HTTP\/1\.1 101/);
    const payload = Buffer.from([0x03, 0xe8, 0xff, 0xfe]);
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    socket.write(Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), mask, masked]));
    await Promise.race([once(socket, "close"), once(socket, "end")]);
    // Skip the handshake and the "joined utf8" text frame; find the server's close frame.
    let frames = answer.subarray(headEnd() + 4);
    let close: Buffer | undefined;
    while (frames.length >= 2) {
      const len = frames[1]! & 0x7f;
      if ((frames[0]! & 0x0f) === 0x8) close = frames.subarray(2, 2 + len);
      frames = frames.subarray(2 + len);
    }
    assert.ok(close, "the server sent a close frame");
    assert.equal(close.readUInt16BE(0), 1007);
    socket.destroy();
  });
});
