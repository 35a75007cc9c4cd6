/**
 * A fast path for the values most rooms store (strings, numbers, booleans, null, plain objects and
 * small arrays of them), writing and reading V8's structured-clone wire format in JavaScript.
 * `v8.serialize` costs a native serializer object and an off-heap buffer per call, which for a
 * small value is most of a put's cost; this writes the same bytes into a scratch buffer instead.
 *
 * Anything outside that subset (Map, Date, typed arrays, class instances, a repeated or cyclic
 * object, a sparse array, a large value...) gets `undefined` back, and codec.ts hands it to V8
 * unchanged. The bytes are V8's own: for the values handled here `v8.serialize` writes the same
 * ones (V8 may pick its two-byte form for a string it holds as two-byte internally, where this
 * writes the shorter one-byte form; both read back as the same string), so data written by either
 * reads with either.
 *
 * The encoder reads properties as V8 does, so an own getter runs; when the fast path then gives up
 * on the value, V8 reads it again and the getter runs twice. Both directions keep their state in
 * module variables: a getter or setter that re-enters them (a put from inside a getter) is handed
 * to V8 rather than allowed to clobber the outer call.
 */
import { endianness } from "node:os";
import { serialize } from "node:v8";
import { isProxy } from "node:util/types";

/** V8's header (0xFF, format version), as this Node writes it. */
const HEADER = serialize(null).subarray(0, -1);
const VERSION = HEADER.length === 2 && HEADER[0] === 0xff ? HEADER[1]! : -1;
/** The fast path's largest output. Larger values are few, and V8's overhead is small beside them. */
const MAX_BYTES = 4000;
/** Deeper values go to V8 (it has its own stack checks). */
const MAX_DEPTH = 32;
/** Longer arrays go to V8: checking them for extra properties would cost what it saves. */
const MAX_ARRAY = 64;
/** Values with more objects go to V8 (the repeat check is a linear scan). */
const MAX_OBJECTS = 64;
const LITTLE_ENDIAN = endianness() === "LE";
const NOT_LATIN1 = /[\u0100-\uffff]/;
/** A canonical array index (as V8 writes object keys that are one, as numbers). */
const INDEX = /^(?:0|[1-9][0-9]{0,9})$/;
const MAX_INDEX = 2 ** 32 - 2;
const objectToString = Object.prototype.toString;

// Tags of the wire format (v8/src/objects/value-serializer.cc).
const T_PADDING = 0x00;
const T_ONE_BYTE = 0x22; // "
const T_TWO_BYTE = 0x63; // c
const T_INT32 = 0x49; // I
const T_DOUBLE = 0x4e; // N
const T_TRUE = 0x54; // T
const T_FALSE = 0x46; // F
const T_NULL = 0x30; // 0
const T_UNDEFINED = 0x5f; // _
const T_OBJECT = 0x6f; // o
const T_END_OBJECT = 0x7b; // {
const T_DENSE_ARRAY = 0x41; // A
const T_END_DENSE_ARRAY = 0x24; // $

// Room past MAX_BYTES for what follows the last check: a number, then closing tags of every level.
const scratch = Buffer.allocUnsafeSlow(MAX_BYTES + 512);
const scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
HEADER.copy(scratch, 0);
let pos = 0;
let encoding = false;
/** Objects written so far in this value: a second sighting needs V8's back-references. */
const seen: object[] = [];

/**
 * The value in V8's wire format, or undefined when the fast path does not handle it (call
 * `v8.serialize` then). The bytes are a fresh buffer (from Node's small-buffer pool).
 */
export function encodePlain(value: unknown): Buffer | undefined {
  if (VERSION < 0 || encoding) return undefined;
  encoding = true;
  let ok = false;
  try {
    pos = HEADER.length;
    ok = write(value, 0);
  } finally {
    seen.length = 0;
    encoding = false;
  }
  if (!ok || pos > MAX_BYTES) return undefined;
  const out = Buffer.allocUnsafe(pos);
  scratch.copy(out, 0, 0, pos);
  return out;
}

function write(value: unknown, depth: number): boolean {
  if (pos > MAX_BYTES) return false;
  switch (typeof value) {
    case "string":
      return writeString(value);
    case "number":
      writeNumber(value);
      return true;
    case "boolean":
      scratch[pos++] = value ? T_TRUE : T_FALSE;
      return true;
    case "undefined":
      scratch[pos++] = T_UNDEFINED;
      return true;
    case "object":
      if (value === null) {
        scratch[pos++] = T_NULL;
        return true;
      }
      if (depth >= MAX_DEPTH || seen.length >= MAX_OBJECTS || seen.includes(value)) return false;
      // Before anything else looks at it: a proxy's traps are user code, and V8 refuses proxies.
      if (isProxy(value)) return false;
      seen.push(value);
      return Array.isArray(value) ? writeArray(value, depth) : writeObject(value, depth);
    default:
      // bigint, symbol, function: V8 writes or refuses them.
      return false;
  }
}

function writeObject(object: object, depth: number): boolean {
  // Plain objects only: a class instance, a null-prototype object, `arguments` (which V8 refuses)
  // or an object with a Symbol.toStringTag all go to V8.
  if (
    Object.getPrototypeOf(object) !== Object.prototype ||
    objectToString.call(object) !== "[object Object]"
  ) {
    return false;
  }
  const keys = Object.keys(object);
  scratch[pos++] = T_OBJECT;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (!writeKey(key)) return false;
    if (!write((object as Record<string, unknown>)[key], depth + 1)) return false;
  }
  scratch[pos++] = T_END_OBJECT;
  writeVarint(keys.length);
  return true;
}

/** As V8 writes a key: an array index as a number, any other key as a string. */
function writeKey(key: string): boolean {
  const first = key.charCodeAt(0);
  if (first >= 0x30 && first <= 0x39 && INDEX.test(key)) {
    const index = Number(key);
    if (index <= MAX_INDEX) {
      writeNumber(index);
      return true;
    }
  }
  return writeString(key);
}

function writeArray(array: unknown[], depth: number): boolean {
  const length = array.length;
  // Holes (V8's sparse form) and extra named properties go to V8.
  if (
    length > MAX_ARRAY ||
    Object.getPrototypeOf(array) !== Array.prototype ||
    Object.keys(array).length !== length
  ) {
    return false;
  }
  scratch[pos++] = T_DENSE_ARRAY;
  writeVarint(length);
  for (let i = 0; i < length; i++) {
    const item = array[i];
    if (item === undefined && !(i in array)) return false;
    if (!write(item, depth + 1)) return false;
  }
  scratch[pos++] = T_END_DENSE_ARRAY;
  writeVarint(0);
  writeVarint(length);
  return true;
}

function writeNumber(n: number): void {
  if ((n | 0) === n && (n !== 0 || 1 / n > 0)) {
    // An int32 (what V8 holds as a small integer): zigzag varint.
    scratch[pos++] = T_INT32;
    writeVarint(((n << 1) ^ (n >> 31)) >>> 0);
  } else {
    scratch[pos++] = T_DOUBLE;
    scratchView.setFloat64(pos, n, LITTLE_ENDIAN);
    pos += 8;
  }
}

function writeString(s: string): boolean {
  const length = s.length;
  // The worst case: tag, padding, a 5-byte varint and two bytes a unit.
  if (pos + 7 + 2 * length > MAX_BYTES) return false;
  if (length <= 32) {
    const start = pos;
    scratch[pos++] = T_ONE_BYTE;
    writeVarint(length);
    for (let i = 0; i < length; i++) {
      const unit = s.charCodeAt(i);
      if (unit > 0xff) {
        pos = start;
        writeTwoByte(s);
        return true;
      }
      scratch[pos++] = unit;
    }
    return true;
  }
  if (NOT_LATIN1.test(s)) {
    writeTwoByte(s);
    return true;
  }
  scratch[pos++] = T_ONE_BYTE;
  writeVarint(length);
  pos += scratch.write(s, pos, length, "latin1");
  return true;
}

function writeTwoByte(s: string): void {
  const bytes = 2 * s.length;
  // V8 aligns two-byte string data to an even offset with a padding tag.
  if ((pos + 1 + varintSize(bytes)) & 1) scratch[pos++] = T_PADDING;
  scratch[pos++] = T_TWO_BYTE;
  writeVarint(bytes);
  pos += scratch.write(s, pos, bytes, "utf16le");
}

function writeVarint(n: number): void {
  while (n >= 0x80) {
    scratch[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  scratch[pos++] = n;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n >>>= 7;
    size++;
  }
  return size;
}

// Reading.

/** What `read` returns for bytes outside the fast path. */
const OTHER: unique symbol = Symbol("partyhouse.codec.other");
let input: Buffer = scratch;
let at = 0;
let end = 0;
let decoding = false;

/**
 * The value `bytes` hold, or `notPlain` when they hold something outside the fast path (or were
 * written by another format version): call V8's deserializer then. Returns fresh objects.
 */
export function decodePlain(bytes: Uint8Array, notPlain: unknown): unknown {
  if (decoding || bytes.byteLength < 3 || bytes[0] !== 0xff || bytes[1] !== VERSION) {
    return notPlain;
  }
  decoding = true;
  try {
    input = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    at = 2;
    end = bytes.byteLength;
    const value = read(0);
    return value === OTHER || at !== end ? notPlain : value;
  } finally {
    input = scratch;
    decoding = false;
  }
}

function read(depth: number): unknown {
  let tag = at < end ? input[at++]! : -1;
  while (tag === T_PADDING) tag = at < end ? input[at++]! : -1;
  switch (tag) {
    case T_ONE_BYTE:
    case T_TWO_BYTE:
      return readString(tag);
    case T_INT32: {
      const n = readVarint();
      return n < 0 ? OTHER : (n >>> 1) ^ -(n & 1);
    }
    case T_DOUBLE: {
      if (at + 8 > end) return OTHER;
      // V8 writes doubles in the machine's byte order.
      const n = LITTLE_ENDIAN ? input.readDoubleLE(at) : input.readDoubleBE(at);
      at += 8;
      return n;
    }
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    case T_NULL:
      return null;
    case T_UNDEFINED:
      return undefined;
    case T_OBJECT:
      return depth >= MAX_DEPTH ? OTHER : readObject(depth);
    case T_DENSE_ARRAY:
      return depth >= MAX_DEPTH ? OTHER : readArray(depth);
    default:
      return OTHER;
  }
}

function readString(tag: number): string | typeof OTHER {
  const length = readVarint();
  if (length < 0 || at + length > end) return OTHER;
  const start = at;
  at += length;
  if (tag === T_ONE_BYTE) {
    if (length <= 16) {
      let s = "";
      for (let i = start; i < at; i++) s += String.fromCharCode(input[i]!);
      return s;
    }
    return input.toString("latin1", start, at);
  }
  return length % 2 === 0 ? input.toString("utf16le", start, at) : OTHER;
}

function readObject(depth: number): unknown {
  const object: Record<string, unknown> = {};
  let count = 0;
  for (;;) {
    while (at < end && input[at] === T_PADDING) at++;
    if (at >= end) return OTHER;
    if (input[at] === T_END_OBJECT) break;
    const key = read(depth + 1);
    if (typeof key === "number") {
      // A key V8 wrote as a number is an array index (a non-negative integer).
      if (!(Number.isInteger(key) && key >= 0)) return OTHER;
    } else if (typeof key !== "string" || key === "__proto__") {
      // `object[key] =` would set the prototype, where V8 defines an own property.
      return OTHER;
    }
    const value = read(depth + 1);
    if (value === OTHER) return OTHER;
    object[key] = value;
    count++;
  }
  at++;
  return readVarint() === count ? object : OTHER;
}

function readArray(depth: number): unknown {
  const length = readVarint();
  if (length < 0 || length > end - at) return OTHER;
  const array: unknown[] = [];
  for (let i = 0; i < length; i++) {
    const item = read(depth + 1);
    if (item === OTHER) return OTHER;
    array.push(item);
  }
  // Extra named properties would come before the end tag: V8 reads those.
  if (at >= end || input[at++] !== T_END_DENSE_ARRAY) return OTHER;
  if (readVarint() !== 0 || readVarint() !== length) return OTHER;
  return array;
}

/** A uint32 varint, or -1 when the bytes do not hold one. */
function readVarint(): number {
  let n = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (at >= end) return -1;
    const byte = input[at++]!;
    n += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return n <= 0xffffffff ? n : -1;
  }
  return -1;
}
