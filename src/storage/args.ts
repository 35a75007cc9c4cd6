/**
 * Argument checks shared by `storage.*` and `txn.*`, with workerd's rules and limits. They run
 * before anything is written, so a call that fails changes nothing.
 */
import { PartyhouseError } from "../core/errors.js";
import type { Entry } from "./driver.js";
import { encodeValue } from "./codec.js";
import { checkKey, toKey } from "./keys.js";

/**
 * The most keys one `get(keys)` takes. workerd checks it for get only: put(entries) and
 * delete(keys) take any number, in partykit dev as in workerd's own code.
 */
export const MAX_BATCH_KEYS = 128;

export interface StorageLimits {
  /** Largest key, in UTF-8 bytes. */
  readonly maxKeyBytes: number;
  /** Largest value, in v8-serialized bytes (plus workerd's small allowance for type tags). */
  readonly maxValueBytes: number;
  /** Clean cache bound of the whole provider, in bytes (see cache.ts). */
  readonly maxCacheBytes: number;
  /** Clean cache bound of one room, in bytes. */
  readonly maxRoomCacheBytes: number;
}

/** Checks a key or a key array for get/delete and returns the keys as an array. */
export function checkKeyArgs(
  keyOrKeys: unknown,
  limits: StorageLimits,
  op: "get" | "delete",
): string[] {
  if (!Array.isArray(keyOrKeys)) {
    const key = toKey(keyOrKeys);
    checkKey(key, limits.maxKeyBytes);
    return [key];
  }
  if (op === "get") checkBatchSize(keyOrKeys.length);
  const keys = keyOrKeys.map(toKey);
  for (const key of keys) checkKey(key, limits.maxKeyBytes);
  return keys;
}

/** `put(key, value)`: the key checked, the value encoded (the hot path of a put loop). */
export function encodePutOne(key: string, value: unknown, limits: StorageLimits): Uint8Array {
  checkKey(key, limits.maxKeyBytes);
  if (value === undefined) {
    throw new PartyhouseError("PH_ERR_STORAGE_VALUE", "put() called with undefined value.");
  }
  return encodeValue(key, value, limits.maxValueBytes);
}

/**
 * Serializes the arguments of `put(key, value)` or `put(entries)` into entries. Like workerd,
 * `put(key, undefined)` is an error and `put({ a: undefined })` silently skips `a`.
 */
export function encodePutArgs(
  keyOrEntries: unknown,
  value: unknown,
  limits: StorageLimits,
): Entry[] {
  if (keyOrEntries === null || typeof keyOrEntries !== "object") {
    const key = toKey(keyOrEntries);
    return [[key, encodePutOne(key, value, limits)]];
  }
  if (Array.isArray(keyOrEntries)) {
    throw new PartyhouseError(
      "PH_ERR_STORAGE_KEY",
      "put() takes a string key and a value, or one object of key/value entries.",
    );
  }
  const pairs = Object.entries(keyOrEntries);
  const entries: Entry[] = [];
  for (const [key, v] of pairs) {
    if (v === undefined) continue;
    checkKey(key, limits.maxKeyBytes);
    entries.push([key, encodeValue(key, v, limits.maxValueBytes)]);
  }
  return entries;
}

/**
 * The alarm time in epoch ms. Like workerd, a time in the past becomes now (the alarm fires at
 * once) and a time <= 0 is refused.
 */
export function toAlarmTime(scheduledTime: unknown, now: number): number {
  // workerd's checks and words.
  const ms = scheduledTime instanceof Date ? scheduledTime.getTime() : scheduledTime;
  if (typeof ms !== "number") {
    throw new PartyhouseError(
      "PH_ERR_ALARM",
      "Failed to execute 'setAlarm' on 'DurableObjectStorage': parameter 1 is not of type 'date'.",
    );
  }
  if (!Number.isFinite(ms)) {
    throw new PartyhouseError(
      "PH_ERR_ALARM",
      "The value cannot be converted because it is not a valid Date.",
    );
  }
  if (ms <= 0) {
    throw new PartyhouseError(
      "PH_ERR_ALARM",
      "setAlarm() cannot be called with an alarm time <= 0",
    );
  }
  return Math.max(Math.trunc(ms), now);
}

function checkBatchSize(count: number): void {
  if (count > MAX_BATCH_KEYS) {
    throw new PartyhouseError(
      "PH_ERR_STORAGE_BATCH",
      // workerd's words (it says "pairs" for get and delete too)
      `Maximum number of key value pairs is ${MAX_BATCH_KEYS}. ${count} pairs were provided.`,
    );
  }
}
