import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Client, waitFor } from "../helpers.js";
import { copyExample, killAll, startCli } from "./cli-helpers.js";

after(killAll);

type GameMsg =
  | {
      type: "welcome";
      you: string;
      players: Array<{ id: string; name: string; x: number; y: number }>;
    }
  | { type: "joined"; player: { id: string; name: string } }
  | { type: "moved"; id: string; x: number; y: number }
  | { type: "left"; id: string };

describe("examples/game with partyhouse dev", () => {
  it("players join, see each other, move, and leave", async () => {
    const dev = await startCli(["dev", "-p", "0"], copyExample("game"));
    await waitFor(
      async () => (await fetch(dev.url + "/dist/client.js")).status === 200,
      20000,
      "client bundle",
    );
    assert.match(await (await fetch(dev.url + "/")).text(), /<canvas id="board">/);

    const ws = (name: string, id: string) =>
      new Client(
        `${dev.url.replace("http", "ws")}/parties/main/arena?_pk=${id}&name=${name}`,
      ).open();
    const ada = await ws("ada", "p-ada");
    const adaWelcome = await ada.nextJson<GameMsg>();
    assert.equal(adaWelcome.type, "welcome");
    const bob = await ws("bob", "p-bob");
    const bobWelcome = await bob.nextJson<GameMsg & { type: "welcome" }>();
    assert.deepEqual(bobWelcome.players.map((p) => p.name).sort(), ["ada", "bob"]);
    const joined = await ada.nextJson<GameMsg & { type: "joined" }>();
    assert.equal(joined.player.name, "bob");

    const start = bobWelcome.players.find((p) => p.id === "p-bob")!;
    bob.send(JSON.stringify({ type: "move", dx: start.x === 0 ? 1 : -1, dy: 0 }));
    const moved = await ada.nextJson<GameMsg & { type: "moved" }>();
    assert.equal(moved.id, "p-bob");
    assert.equal(Math.abs(moved.x - start.x), 1);

    bob.close();
    const left = await ada.nextJson<GameMsg & { type: "left" }>();
    assert.equal(left.id, "p-bob");
    ada.close();
    dev.child.kill("SIGTERM");
    assert.equal((await dev.exited).code, 0);
  });
});
