/**
 * The bytes of one logged commit (see postgres-statements.ts): a batch's key changes in one bytea, so a
 * large commit costs PostgreSQL one row to make durable instead of one row per key. Read back
 * only when a log row was left unapplied (a crash between the log insert and its apply).
 *
 * Layout (little-endian): u8 version (1), u8 flags (1 = deleteAll), u32 deletes, u32 puts, then
 * each delete as u32 length + UTF-8 key, then each put as u32 key length + u32 value length + key
 * + value.
 */
import { PartyhouseError } from "../core/errors.js";
import type { Entry } from "./driver.js";

export interface LoggedBatch {
  readonly deleteAll: boolean;
  readonly deletes: readonly string[];
  readonly puts: readonly Entry[];
}

const VERSION = 1;

export function encodeLoggedBatch(batch: LoggedBatch): Buffer {
  const deletes = batch.deletes.map((k) => Buffer.from(k, "utf8"));
  const keys = batch.puts.map(([k]) => Buffer.from(k, "utf8"));
  let size = 10;
  for (const k of deletes) size += 4 + k.length;
  for (let i = 0; i < keys.length; i++) size += 8 + keys[i]!.length + batch.puts[i]![1].length;
  const out = Buffer.allocUnsafe(size);
  out[0] = VERSION;
  out[1] = batch.deleteAll ? 1 : 0;
  out.writeUInt32LE(deletes.length, 2);
  out.writeUInt32LE(keys.length, 6);
  let at = 10;
  for (const k of deletes) {
    out.writeUInt32LE(k.length, at);
    at += 4 + k.copy(out, at + 4);
  }
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = batch.puts[i]![1];
    out.writeUInt32LE(key.length, at);
    out.writeUInt32LE(value.length, at + 4);
    at += 8;
    at += key.copy(out, at);
    out.set(value, at);
    at += value.length;
  }
  return out;
}

export function decodeLoggedBatch(bytes: Buffer): LoggedBatch {
  if (bytes.length < 10 || bytes[0] !== VERSION) {
    throw new PartyhouseError(
      "PH_ERR_STORAGE_IO",
      `A logged commit in PostgreSQL has an unknown format (version ${String(bytes[0])}); ` +
        "it was written by a newer partyhouse.",
    );
  }
  const deleteAll = (bytes[1]! & 1) === 1;
  const deleteCount = bytes.readUInt32LE(2);
  const putCount = bytes.readUInt32LE(6);
  let at = 10;
  const deletes: string[] = [];
  for (let i = 0; i < deleteCount; i++) {
    const length = bytes.readUInt32LE(at);
    deletes.push(bytes.toString("utf8", at + 4, at + 4 + length));
    at += 4 + length;
  }
  const puts: Entry[] = [];
  for (let i = 0; i < putCount; i++) {
    const keyLength = bytes.readUInt32LE(at);
    const valueLength = bytes.readUInt32LE(at + 4);
    at += 8;
    const key = bytes.toString("utf8", at, at + keyLength);
    at += keyLength;
    // A copy: the row's buffer is not kept alive by one of its values.
    puts.push([key, Uint8Array.prototype.slice.call(bytes, at, at + valueLength)]);
    at += valueLength;
  }
  if (at !== bytes.length) {
    throw new PartyhouseError("PH_ERR_STORAGE_IO", "A logged commit in PostgreSQL is truncated.");
  }
  return { deleteAll, deletes, puts };
}
