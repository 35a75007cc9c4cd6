// The self-fence deadline counts from when a renewal was sent, on the monotonic clock, and tells
// the node exactly once per loss.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SelfFence } from "../../src/cluster/self-fence.js";
import { waitFor } from "../helpers.js";

describe("SelfFence", () => {
  it("is invalid before the first renewal", () => {
    const fence = new SelfFence(1000, 200, () => {});
    assert.equal(fence.valid(), false);
  });

  it("counts from the send time: a slow answer shortens what is left", async () => {
    const lost: string[] = [];
    const fence = new SelfFence(300, 60, (r) => lost.push(r));
    // The renewal was sent 200 ms ago and answered only now: 300 - 60 - 200 = 40 ms are left.
    fence.renewed(SelfFence.now() - 200);
    assert.ok(fence.remaining() <= 40);
    await waitFor(() => lost.length > 0, 5000, "the loss is reported");
    assert.equal(fence.valid(), false);
    assert.equal(lost.length, 1);
    fence.stop();
  });

  it("a later renewal moves the deadline and arms the report again; an older one does not", async () => {
    const lost: string[] = [];
    const fence = new SelfFence(10_000, 2000, (r) => lost.push(r));
    const now = SelfFence.now();
    fence.renewed(now);
    const deadline = fence.remaining();
    fence.renewed(now - 5000); // an answer to an older renewal arriving late
    assert.ok(fence.remaining() <= deadline);
    assert.ok(fence.remaining() > 7000);
    fence.lose("gone");
    fence.lose("gone again");
    assert.deepEqual(lost, ["gone"]);
    assert.equal(fence.valid(), false);
    fence.renewed(SelfFence.now());
    assert.equal(fence.valid(), true);
    fence.lose("gone once more");
    assert.deepEqual(lost, ["gone", "gone once more"]);
    fence.stop();
  });

  it("refuses a margin outside (0, lease)", () => {
    assert.throws(() => new SelfFence(1000, 0, () => {}), RangeError);
    assert.throws(() => new SelfFence(1000, 1000, () => {}), RangeError);
  });
});
