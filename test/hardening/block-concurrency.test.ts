// A blockConcurrencyWhile that never settles would hold its room, and every message queued for
// it, forever. Past blockConcurrencyTimeoutMs the call rejects and only that room is reset.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type * as Party from "../../src/core/api/types.js";
import { Client, closeAll, recordingLogger, serve, wsUrl } from "../helpers.js";

class Stuck implements Party.Server {
  constructor(readonly room: Party.Room) {}
  onMessage(message: string | ArrayBuffer, sender: Party.Connection): void {
    if (message === "hang") {
      void this.room.blockConcurrencyWhile(() => new Promise<void>(() => {})).catch(() => {});
      return;
    }
    sender.send(`echo ${String(message)}`);
  }
}

describe("blockConcurrencyWhile", () => {
  after(closeAll);

  it("that never settles resets its room after the limit; other rooms go on", async () => {
    const log = recordingLogger();
    const ph = await serve({
      parties: { main: Stuck },
      limits: { blockConcurrencyTimeoutMs: 300 },
      log,
    });
    const stuck = await new Client(wsUrl(ph, "/parties/main/stuck")).open();
    const other = await new Client(wsUrl(ph, "/parties/main/other")).open();
    stuck.ws.send("hang");
    stuck.ws.send("queued"); // held behind the block
    const closed = await stuck.closed;
    assert.equal(closed.code, 1011);
    assert.match(closed.reason, /blockConcurrencyWhile timed out/);
    assert.ok(log.errors.some((e) => e.code === "PH_ERR_TIMEOUT"));
    other.ws.send("still");
    assert.equal(await other.next(), "echo still");
    const again = await new Client(wsUrl(ph, "/parties/main/stuck")).open();
    again.ws.send("back");
    assert.equal(await again.next(), "echo back");
    again.ws.close();
    other.ws.close();
  });
});
