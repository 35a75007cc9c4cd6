// The broadcast fast path (src/adapters/node/ws-socket.ts) relies on parts of `ws` that are not
// in its public API: the TCP socket in `_socket` (cork/uncork/write), the sender's `_state` and
// `_firstFragment`, and `Sender.frame`. package.json pins ws to a range where they hold; this
// test fails the day an upgrade moves them, before any user sees garbled frames.
import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import * as wsModule from "ws";
import WebSocket, { WebSocketServer } from "ws";

test("ws still has the internals the broadcast fast path writes through", async () => {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  try {
    await once(wss, "listening");
    const { port } = wss.address() as { port: number };
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    const [server] = (await once(wss, "connection")) as [WebSocket];
    await once(client, "open");

    const internals = server as unknown as {
      _socket?: { cork?: unknown; uncork?: unknown; write?: unknown };
      _sender?: { _state?: unknown; _firstFragment?: unknown };
    };
    assert.equal(typeof internals._socket?.cork, "function");
    assert.equal(typeof internals._socket?.uncork, "function");
    assert.equal(typeof internals._socket?.write, "function");
    // Idle between whole messages: the state the fast path checks before writing by itself.
    assert.equal(internals._sender?._state, 0);
    assert.equal(internals._sender?._firstFragment, true);

    const frame = (wsModule as unknown as { Sender: { frame: unknown } }).Sender.frame as (
      data: Buffer,
      options: object,
    ) => Buffer[];
    assert.equal(typeof frame, "function");
    const parts = frame(Buffer.from("hello"), {
      fin: true,
      rsv1: false,
      opcode: 1,
      mask: false,
      readOnly: false,
    });
    // A frame written straight to the socket must reach the client as that text message.
    const got = once(client, "message");
    (internals._socket!.write as (b: Buffer) => void)(Buffer.concat(parts));
    const [data, isBinary] = (await got) as [Buffer, boolean];
    assert.equal(isBinary, false);
    assert.equal(data.toString(), "hello");
    client.close();
    await once(client, "close");
  } finally {
    wss.close();
  }
});
