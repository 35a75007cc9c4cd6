// The node signature: what it covers (method, target, origin, time) and what it refuses.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkNodeHeaders,
  MAX_SKEW_MS,
  signNodeHeaders,
} from "../../src/adapters/node/node-auth.js";

const SECRET = "s3cret";
const NOW = 1_800_000_000_000;
const signed = signNodeHeaders(SECRET, "POST", "/parties/main/r?x=1", "https://app.example", NOW);

describe("node signatures", () => {
  it("verifies what it signed and gives the client's origin", () => {
    assert.deepEqual(checkNodeHeaders(SECRET, "POST", "/parties/main/r?x=1", signed, NOW + 1000), {
      kind: "node",
      origin: "https://app.example",
    });
  });

  it("treats a request without node headers as a client's", () => {
    assert.deepEqual(checkNodeHeaders(SECRET, "GET", "/", { host: "x" }), { kind: "client" });
    assert.deepEqual(checkNodeHeaders(undefined, "GET", "/", {}), { kind: "client" });
  });

  it("refuses any change of method, target, origin or time, and a stale or future timestamp", () => {
    const refused = (method: string, target: string, headers: Record<string, string>, now = NOW) =>
      checkNodeHeaders(SECRET, method, target, headers, now).kind === "refused";
    assert.ok(refused("GET", "/parties/main/r?x=1", signed));
    assert.ok(refused("POST", "/parties/main/r?x=2", signed));
    assert.ok(
      refused("POST", "/parties/main/r?x=1", {
        ...signed,
        "x-partyhouse-node-origin": "https://evil.example",
      }),
    );
    assert.ok(
      refused("POST", "/parties/main/r?x=1", {
        ...signed,
        "x-partyhouse-node-ts": String(NOW + 1),
      }),
    );
    assert.ok(refused("POST", "/parties/main/r?x=1", signed, NOW + MAX_SKEW_MS + 1));
    assert.ok(refused("POST", "/parties/main/r?x=1", signed, NOW - MAX_SKEW_MS - 1));
    assert.ok(refused("POST", "/parties/main/r?x=1", { "x-partyhouse-node-anything": "1" }));
  });

  it("refuses every node claim when this node has no secret, or another secret", () => {
    assert.equal(
      checkNodeHeaders(undefined, "POST", "/parties/main/r?x=1", signed, NOW).kind,
      "refused",
    );
    assert.equal(
      checkNodeHeaders("other", "POST", "/parties/main/r?x=1", signed, NOW).kind,
      "refused",
    );
  });

  it("refuses a signed origin that is not scheme://host", () => {
    const bad = signNodeHeaders(SECRET, "GET", "/", "http://a/b", NOW);
    assert.equal(checkNodeHeaders(SECRET, "GET", "/", bad, NOW).kind, "refused");
  });
});
