import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { matchPartyPath, pathnameOf } from "../../src/core/wire/router.js";

describe("router", () => {
  it("matches PartyKit's party URLs, raw segments, and nothing else", () => {
    assert.deepEqual(matchPartyPath("/parties/main/room"), { party: "main", room: "room" });
    assert.deepEqual(matchPartyPath("/parties/chat/r1/sub/path"), { party: "chat", room: "r1" });
    assert.deepEqual(matchPartyPath("/party/legacy"), { party: "main", room: "legacy" });
    assert.deepEqual(matchPartyPath("/party/legacy/x"), { party: "main", room: "legacy" });
    assert.deepEqual(matchPartyPath("/parties/main/a%20b"), { party: "main", room: "a%20b" });
    assert.equal(matchPartyPath("/parties/main/"), null);
    assert.equal(matchPartyPath("/parties/main"), null);
    assert.equal(matchPartyPath("/party/"), null);
    assert.equal(matchPartyPath("/"), null);
    assert.equal(matchPartyPath("/partiesx/main/r"), null);
  });

  it("extracts a pathname without parsing a URL", () => {
    assert.equal(pathnameOf("http://h:1/parties/main/r?_pk=1#x"), "/parties/main/r");
    assert.equal(pathnameOf("http://h:1"), "/");
    assert.equal(pathnameOf("http://h/a#b?c"), "/a");
  });
});
