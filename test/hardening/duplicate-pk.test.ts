import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type * as Party from "../../src/server.js";
import { Client, closeAll, serve, waitFor, wsUrl } from "../helpers.js";

class Broadcaster implements Party.Server {
  constructor(readonly room: Party.Room) {}
  onMessage(message: string | ArrayBuffer, sender: Party.Connection) {
    const text = String(message);
    if (text === "who") sender.send(`you are ${sender.id}`);
    else this.room.broadcast(`${sender.id}:${text}`, [sender.id]);
  }
}

/**
 * A second socket with the same `?_pk=` (PartyKit's in-memory connection manager): it takes the
 * id's place in broadcast and getConnection; the first stays open and can still send. When the
 * first closes, the second keeps its place (PartyKit would drop it from the map there).
 */
describe("a duplicate ?_pk=", () => {
  after(() => closeAll());

  it("the newer socket takes the id's place; the older still speaks; its close evicts nobody", async () => {
    const ph = await serve({ parties: { main: Broadcaster } });
    const url = (q: string) => wsUrl(ph, `/parties/main/dup${q}`);
    const first = await new Client(url("?_pk=victim")).open();
    const second = await new Client(url("?_pk=victim")).open();
    const speaker = await new Client(url("?_pk=speaker")).open();
    const room = () => ph.inspect.room("main", "dup");
    await waitFor(() => room()?.connections.length === 2, 5000, "both ids registered");

    speaker.send("hello");
    assert.equal(await second.nextText(), "speaker:hello");
    first.send("who");
    assert.equal(await first.nextText(), "you are victim");

    first.close();
    await first.closed;
    speaker.send("again");
    assert.equal(await second.nextText(), "speaker:again");
    second.close();
    speaker.close();
  });
});
