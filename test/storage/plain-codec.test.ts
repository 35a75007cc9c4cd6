import assert from "node:assert/strict";
import { test } from "node:test";
import { deserialize, serialize } from "node:v8";
import { decodeValue, encodeValue } from "../../src/storage/codec.js";
import { decodePlain, encodePlain } from "../../src/storage/plain-codec.js";

const OTHER = Symbol("other");

/** A small deterministic PRNG so a failure reproduces. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const strings = [
  "",
  "a",
  "x".repeat(64),
  "é",
  "ÿ".repeat(40),
  "€",
  "a€b",
  "😀",
  "\ud800",
  "x\udc00y",
  "\0",
  "é".repeat(33) + "€",
  "z".repeat(300),
];
const numbers = [
  0,
  -0,
  1,
  -1,
  63,
  64,
  -65,
  2 ** 30,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53,
  1.5,
  -1e-300,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  NaN,
  Infinity,
  -Infinity,
];

function randomValue(random: () => number, depth: number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const r = random();
  if (depth > 3 || r < 0.35) {
    return pick<unknown>([...strings, ...numbers, true, false, null, undefined]);
  }
  if (r < 0.7) {
    const object: Record<string, unknown> = {};
    const n = Math.floor(random() * 6);
    for (let i = 0; i < n; i++) {
      const key = pick([
        "a",
        "b",
        "0",
        "7",
        "42",
        "01",
        "-1",
        "4294967294",
        "4294967295",
        "é€",
        "",
      ]);
      object[key] = randomValue(random, depth + 1);
    }
    return object;
  }
  return Array.from({ length: Math.floor(random() * 5) }, () => randomValue(random, depth + 1));
}

test("plain values round-trip between the fast path and V8, both ways", () => {
  const random = mulberry32(7);
  for (let i = 0; i < 5000; i++) {
    const value = randomValue(random, 0);
    const fast = encodePlain(value);
    assert.ok(fast !== undefined, `handled: ${JSON.stringify(value)}`);
    // Not always V8's bytes: V8 writes a number held in a double field as a double, where the
    // fast path writes every int32 as one; both read back as the same number.
    assert.deepEqual(deserialize(fast), value);
    assert.deepEqual(decodePlain(fast, OTHER), value);
    assert.deepEqual(decodePlain(serialize(value), OTHER), value);
  }
});

test("the fast path writes V8's own bytes for values from literals", () => {
  const values: unknown[] = [
    { v: "x".repeat(64), i: 12 },
    { "0": "a", "7": [1, 2, "€"], b: { c: null, d: true, e: false, f: undefined } },
    ["é", "😀", 1.5, -0, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, { "4294967294": 1, "4294967295": 2 }],
    "a€",
    "é".repeat(300),
    "€".repeat(300),
  ];
  for (const value of values) assert.deepEqual(encodePlain(value), serialize(value));
});

test("strings and numbers round-trip exactly, lone surrogates and -0 included", () => {
  for (const value of [...strings, "z".repeat(1900), "€".repeat(1900), ...numbers]) {
    const fast = encodePlain(value)!;
    assert.ok(Object.is(decodePlain(fast, OTHER), value), String(value));
    assert.ok(Object.is(deserialize(fast), value), String(value));
  }
});

test("a Latin-1 string V8 holds as two-byte reads the same from either form", () => {
  const twoByte = "é€".slice(0, 1).repeat(40);
  assert.equal(deserialize(encodePlain(twoByte)!), twoByte);
  assert.equal(decodePlain(serialize(twoByte), OTHER), twoByte);
});

test("a key holding __proto__ becomes an own property, not the prototype", () => {
  const value = JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as object;
  const fast = encodePlain(value)!;
  assert.deepEqual(fast, serialize(value));
  const read = decodeValue(fast) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(read), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(read, "__proto__")?.value, { x: 1 });
});

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

test("values outside the fast path are left to V8, and still round-trip through the codec", () => {
  class Point {
    x = 1;
  }
  const shared = { a: 1 };
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  // eslint-disable-next-line no-sparse-arrays
  const sparse = [1, , 3];
  const named = Object.assign([1, 2], { extra: true });
  const tagged = { [Symbol.toStringTag]: "T", a: 1 };
  const args = (function (..._: unknown[]) {
    // eslint-disable-next-line prefer-rest-params
    return arguments;
  })(1, 2);
  const others: unknown[] = [
    new Map([[1, 2]]),
    new Set([1]),
    new Date(5),
    /x/g,
    10n,
    new Uint8Array([1, 2]),
    Buffer.from("ab"),
    new ArrayBuffer(3),
    new Point(),
    Object.create(null),
    [shared, shared],
    cyclic,
    sparse,
    named,
    tagged,
    new Array(65).fill(0),
    { big: "x".repeat(5000) },
    { deep: nested(40) },
    new Proxy({}, {}),
    new Proxy([], {}),
  ];
  for (const value of others) {
    assert.equal(encodePlain(value), undefined, `index ${others.indexOf(value)}`);
    let v8bytes: Buffer | undefined;
    try {
      v8bytes = serialize(value);
    } catch {
      assert.throws(() => encodeValue("k", value, 1 << 20), { code: "PH_ERR_STORAGE_VALUE" });
      continue;
    }
    assert.deepEqual(decodeValue(encodeValue("k", value, 1 << 20)), deserialize(v8bytes));
  }
  // Bytes with V8's other tags (and back-references) are V8's to read.
  for (const value of [new Map(), new Date(5), 10n, Buffer.from("ab"), [shared, shared], sparse]) {
    assert.equal(decodePlain(serialize(value), OTHER), OTHER);
  }
  // V8 refuses `arguments` objects, as workerd does; so must the fast path.
  assert.equal(encodePlain(args), undefined);
  assert.throws(() => encodeValue("k", args, 1 << 20), { code: "PH_ERR_STORAGE_VALUE" });
  assert.throws(() => encodeValue("k", { f: () => 1 }, 1 << 20), { code: "PH_ERR_STORAGE_VALUE" });
});

test("the size limit is V8's: a value just over it is measured by V8", () => {
  // Integer-like keys: V8 writes them as numbers, as the fast path does, so sizes agree.
  const value = { "1": "x".repeat(90), "2": 2 };
  const size = serialize(value).byteLength;
  assert.equal(encodePlain(value)!.byteLength, size);
  assert.doesNotThrow(() => encodeValue("k", value, size - 34));
  assert.throws(() => encodeValue("k", value, size - 35), { code: "PH_ERR_STORAGE_VALUE" });
});

test("bytes the fast path does not know, or truncated ones, are left to V8", () => {
  const good = serialize({ a: [1, "b"] });
  for (let cut = 3; cut < good.byteLength; cut++) {
    assert.equal(decodePlain(good.subarray(0, cut), OTHER), OTHER, `cut at ${cut}`);
  }
  const otherVersion = Buffer.from(good);
  otherVersion[1] = 13;
  assert.equal(decodePlain(otherVersion, OTHER), OTHER);
  assert.equal(decodePlain(Buffer.concat([good, Buffer.from([0x30])]), OTHER), OTHER);
});

test("decoded values share nothing with the stored bytes or each other", () => {
  const bytes = encodeValue("k", { a: { b: 1 } }, 1 << 20);
  const first = decodeValue(bytes) as { a: { b: number } };
  first.a.b = 2;
  assert.deepEqual(decodeValue(bytes), { a: { b: 1 } });
  // A Uint8Array that is not a Buffer reads too (the memory driver's copies).
  assert.deepEqual(decodeValue(new Uint8Array(bytes)), { a: { b: 1 } });
});

test("a getter that stores a value while being stored does not garble either", () => {
  let inner: Uint8Array | undefined;
  const value = {
    a: "outer",
    get b() {
      inner = encodeValue("k2", { c: "inner" }, 1 << 20);
      return 2;
    },
  };
  const outer = encodeValue("k1", value, 1 << 20);
  assert.deepEqual(decodeValue(outer), { a: "outer", b: 2 });
  assert.deepEqual(decodeValue(inner!), { c: "inner" });
});
