// startPartyhouse checks its `limits` with the same rules as partykit.json, before it listens.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PartyhouseError } from "../../src/core/errors.js";
import { startPartyhouse } from "../../src/runtime/start.js";

class Echo {
  onMessage() {}
}

for (const [limits, message] of [
  [
    { maxConnectionsPerRoom: -5 },
    /limits\.maxConnectionsPerRoom must be a positive integer, got -5/,
  ],
  [{ idleTimeoutMs: "x" }, /limits\.idleTimeoutMs must be a positive integer, got "x"/],
  [{ maxFoo: 1 }, /unknown field "limits\.maxFoo"/],
] as const) {
  test(`startPartyhouse refuses limits ${JSON.stringify(limits)}`, async () => {
    await assert.rejects(
      startPartyhouse({ parties: { main: Echo }, limits: limits as never }),
      (e: unknown) =>
        e instanceof PartyhouseError && e.code === "PH_ERR_CONFIG" && message.test(e.message),
    );
  });
}

test("startPartyhouse applies valid limits over the defaults", async () => {
  const ph = await startPartyhouse({ parties: { main: Echo }, limits: { maxRoomIdLength: 5 } });
  try {
    assert.equal((await fetch(`${ph.url}/parties/main/abcdef`)).status, 400);
    // The other limits keep their defaults: a 5-character id is a room (no onRequest: 500).
    assert.equal((await fetch(`${ph.url}/parties/main/abcde`)).status, 500);
  } finally {
    await ph.close();
  }
});
