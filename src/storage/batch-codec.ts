/**
 * A batch's key changes in one buffer: what PostgreSQL's commit log stores in one bytea (see
 * postgres-statements.ts), so a large commit costs one row to make durable instead of one per
 * key, and what the SQLite writer thread receives (see sqlite-thread.ts), so a large commit
 * crosses threads as one transferred buffer instead of thousands of cloned objects.
 *
 * Layout (little-endian): u8 version (1), u8 flags (1 = deleteAll), u32 deletes, u32 puts, then
 * each delete as u32 length + UTF-8 key, then each put as u32 key length + u32 value length + key
 * + value.
 */
import { PartyhouseError } from "../core/errors.js";
import type { Entry } from "./driver.js";

export interface BatchChanges {
  readonly deleteAll: boolean;
  readonly deletes: readonly string[];
  readonly puts: readonly Entry[];
}

const VERSION = 1;

export function encodeChanges(batch: BatchChanges): Buffer {
  const { deletes, puts } = batch;
  let size = 10;
  for (const key of deletes) size += 4 + Buffer.byteLength(key, "utf8");
  for (const [key, value] of puts) size += 8 + Buffer.byteLength(key, "utf8") + value.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = VERSION;
  out[1] = batch.deleteAll ? 1 : 0;
  out.writeUInt32LE(deletes.length, 2);
  out.writeUInt32LE(puts.length, 6);
  let at = 10;
  for (const key of deletes) {
    const length = out.write(key, at + 4, "utf8");
    out.writeUInt32LE(length, at);
    at += 4 + length;
  }
  for (const [key, value] of puts) {
    const length = out.write(key, at + 8, "utf8");
    out.writeUInt32LE(length, at);
    out.writeUInt32LE(value.length, at + 4);
    at += 8 + length;
    out.set(value, at);
    at += value.length;
  }
  return out;
}

/**
 * The changes in `bytes`. With `copy`, every value is a copy, so that keeping one does not keep
 * the whole buffer alive; without, values are views into `bytes` (for a caller that is done with
 * them before `bytes` is dropped). `where` names the buffer's origin in error messages.
 */
export function decodeChanges(bytes: Buffer, where: string, copy = true): BatchChanges {
  if (bytes.length < 10 || bytes[0] !== VERSION) {
    throw new PartyhouseError(
      "PH_ERR_STORAGE_IO",
      `A logged commit in ${where} has an unknown format (version ${String(bytes[0])}); ` +
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
    const end = at + valueLength;
    puts.push([
      key,
      copy ? Uint8Array.prototype.slice.call(bytes, at, end) : bytes.subarray(at, end),
    ]);
    at = end;
  }
  if (at !== bytes.length) {
    throw new PartyhouseError("PH_ERR_STORAGE_IO", `A logged commit in ${where} is truncated.`);
  }
  return { deleteAll, deletes, puts };
}
