import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

/**
 * Pins what fault isolation relies on in this Node version: a rejection is seen in the store
 * where its promise was created, a throw in the store of the callback that threw, except
 * queueMicrotask (hence partyhouse's wrapper). If Node changes this, this test says so first.
 */
describe("AsyncLocalStorage inside process fault listeners", () => {
  it("matches the design's assumptions", () => {
    const out = execFileSync(process.execPath, [
      join(import.meta.dirname, "fixtures/als-probe.mjs"),
    ]);
    assert.deepEqual(JSON.parse(out.toString()), {
      "created-in-creator": "creator",
      reject: "A",
      timer: "B",
      nextTick: "C",
      immediate: "D",
      microtask: null,
      async: "F",
    });
  });
});
