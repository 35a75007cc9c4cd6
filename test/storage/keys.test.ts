import assert from "node:assert/strict";
import { test } from "node:test";
import { compareKeys, inRange, prefixEnd, toKeyRange } from "../../src/storage/keys.js";
import { PartyhouseError } from "../../src/core/errors.js";

// Characters from every UTF-8 length class, plus the edges of the surrogate gap.
const alphabet = [
  "\0",
  "a",
  "~",
  "é",
  "\u07FF",
  "\u0800",
  "\uD7FF",
  "\uE000",
  "\uFFFF",
  "😀",
  "\u{10000}",
  "\u{10FFFF}",
];

function randomKey(random: () => number): string {
  const length = Math.floor(random() * 5);
  let key = "";
  for (let i = 0; i < length; i++) key += alphabet[Math.floor(random() * alphabet.length)];
  return key;
}

/** A small deterministic PRNG so a failure reproduces. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("compareKeys agrees with a byte comparison of the UTF-8 encodings", () => {
  const random = mulberry32(42);
  for (let i = 0; i < 5000; i++) {
    const a = randomKey(random);
    const b = randomKey(random);
    const expected = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.equal(
      Math.sign(compareKeys(a, b)),
      expected,
      `${JSON.stringify(a)} vs ${JSON.stringify(b)}`,
    );
  }
});

test("prefixEnd is the first key after every key with the prefix", () => {
  const random = mulberry32(7);
  for (let i = 0; i < 2000; i++) {
    const prefix = randomKey(random) || "a";
    const key = randomKey(random);
    const end = prefixEnd(prefix);
    const hasPrefix = key.startsWith(prefix);
    const below = end === undefined || compareKeys(key, end) < 0;
    if (hasPrefix)
      assert.ok(
        below,
        `${JSON.stringify(key)} should sort before the end of ${JSON.stringify(prefix)}`,
      );
    else if (compareKeys(key, prefix) >= 0)
      assert.ok(!below, `${JSON.stringify(key)} is past the prefix`);
  }
  assert.equal(prefixEnd("\u{10FFFF}\u{10FFFF}"), undefined);
  assert.equal(prefixEnd("a\uD7FF"), "a\uE000");
});

test("toKeyRange with prefix keeps exactly the keys that start with it and satisfy the bounds", () => {
  const random = mulberry32(99);
  for (let i = 0; i < 2000; i++) {
    const prefix = randomKey(random);
    const start = random() < 0.5 ? randomKey(random) : undefined;
    const end = random() < 0.5 ? randomKey(random) : undefined;
    const key = randomKey(random);
    const range = toKeyRange({ prefix, start, end });
    const expected =
      key.startsWith(prefix) &&
      (start === undefined || compareKeys(key, start) >= 0) &&
      (end === undefined || compareKeys(key, end) < 0);
    assert.equal(
      range !== null && inRange(key, range),
      expected,
      JSON.stringify({ prefix, start, end, key }),
    );
  }
});

test("toKeyRange refuses lone surrogates in bounds", () => {
  assert.throws(
    () => toKeyRange({ start: "\uDC00" }),
    (e: unknown) => e instanceof PartyhouseError && e.code === "PH_ERR_STORAGE_OPTIONS",
  );
});
