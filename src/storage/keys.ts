/**
 * Key order and key ranges, shared by the overlay and every driver so that a list merged from
 * memory and disk sorts the same way the database does.
 */
import { PartyhouseError } from "../core/errors.js";
import type { ListOptions } from "../core/api/storage-api.js";
import type { KeyRange } from "./driver.js";

/**
 * Compares keys in UTF-8 byte order, which is Unicode code point order: the order Cloudflare
 * lists keys in and the order of SQLite's BINARY collation. JavaScript's `<` compares UTF-16 code
 * units instead, which puts astral characters (emoji, stored as surrogates 0xD800–0xDFFF) before
 * U+E000–U+FFFF; shifting the code units as below restores code point order.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** The smallest key greater than every key that starts with `prefix`; undefined if none is. */
export function prefixEnd(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      // U+D800–U+DFFF are not characters; the code point after U+D7FF is U+E000.
      const next = last === 0xd7ff ? 0xe000 : last + 1;
      return points.join("") + String.fromCodePoint(next);
    }
  }
  return undefined;
}

/** True when `key` lies inside `range` (ignoring reverse and limit). */
export function inRange(key: string, range: KeyRange): boolean {
  if (range.lower !== undefined) {
    const c = compareKeys(key, range.lower);
    if (c < 0 || (c === 0 && range.lowerExclusive)) return false;
  }
  return range.upper === undefined || compareKeys(key, range.upper) < 0;
}

// A lone surrogate has no UTF-8 encoding: SQLite would store U+FFFD and two different keys would
// collide, so such keys are refused rather than silently merged.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * A key as workerd takes it: any value but a Symbol becomes its string (a WebIDL DOMString), so
 * `get(42)` reads the key "42" and `put(null, v)` writes the key "null".
 */
export function toKey(key: unknown): string {
  if (typeof key === "string") return key;
  if (typeof key === "symbol") {
    throw new PartyhouseError("PH_ERR_STORAGE_KEY", "Cannot convert a Symbol value to a string");
  }
  return String(key);
}

/** Throws PH_ERR_STORAGE_KEY unless `key` is well-formed and at most `maxKeyBytes` long. */
export function checkKey(key: string, maxKeyBytes: number): void {
  const bytes = Buffer.byteLength(key, "utf8");
  if (bytes > maxKeyBytes) {
    throw new PartyhouseError(
      "PH_ERR_STORAGE_KEY",
      // workerd's words, so code that matches on them behaves the same here.
      `Keys cannot be larger than ${maxKeyBytes} bytes. A key of size ${bytes} was provided.`,
    );
  }
  if (LONE_SURROGATE.test(key)) {
    throw new PartyhouseError(
      "PH_ERR_STORAGE_KEY",
      `Key "${shortKey(key)}" holds a lone UTF-16 surrogate, which has no UTF-8 form; use well-formed strings.`,
    );
  }
}

/** A key fit for an error message: long keys are cut so the message stays readable. */
export function shortKey(key: string): string {
  return key.length > 64 ? `${key.slice(0, 61)}...` : key;
}

/**
 * Turns Durable Object list options into a `KeyRange`, or null when no key can match. Matches
 * workerd: `start` and `startAfter` together are an error, `prefix` narrows both bounds, and
 * `limit` must be positive.
 */
export function toKeyRange(options: ListOptions): KeyRange | null {
  const { start, startAfter, end, prefix } = options;
  for (const [name, value] of Object.entries({ start, startAfter, end, prefix })) {
    if (value !== undefined && (typeof value !== "string" || LONE_SURROGATE.test(value))) {
      throw new PartyhouseError(
        "PH_ERR_STORAGE_OPTIONS",
        `list() option "${name}" must be a well-formed string.`,
      );
    }
  }
  if (start !== undefined && startAfter !== undefined) {
    throw new PartyhouseError(
      "PH_ERR_STORAGE_OPTIONS",
      "list() cannot be called with both start and startAfter values.",
    );
  }
  // As workerd converts it (an integer, fractions cut off), with its message.
  const limit = options.limit === undefined ? undefined : Math.trunc(Number(options.limit));
  if (limit !== undefined && !(limit > 0)) {
    throw new PartyhouseError("PH_ERR_STORAGE_OPTIONS", "List limit must be positive.");
  }
  let lower = start ?? startAfter;
  let lowerExclusive = startAfter !== undefined;
  let upper = end;
  if (prefix !== undefined && prefix !== "") {
    if (lower === undefined || compareKeys(lower, prefix) < 0) {
      lower = prefix;
      lowerExclusive = false;
    }
    const after = prefixEnd(prefix);
    if (after !== undefined && (upper === undefined || compareKeys(after, upper) < 0)) {
      upper = after;
    }
  }
  if (lower !== undefined && upper !== undefined && compareKeys(upper, lower) <= 0) return null;
  return { lower, lowerExclusive, upper, reverse: options.reverse === true, limit };
}

/** A string naming one room, for maps keyed by room. */
export function roomKey(ref: { readonly party: string; readonly room: string }): string {
  return JSON.stringify([ref.party, ref.room]);
}
