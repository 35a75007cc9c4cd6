/**
 * The SQL the PostgreSQL driver sends to change a room: each commit is ONE statement (data-
 * modifying CTEs), so it is atomic without BEGIN/COMMIT and costs one round trip. Parameters $1
 * and $2 are always the room.
 *
 * Two ways to make a batch durable (postgres.ts picks):
 * - direct (`commitStatement`): the keys are upserted and deleted in `<prefix>kv` at once;
 * - logged (`logStatement`): the key changes go into ONE row of `<prefix>log` (a bytea, see
 *   batch-codec.ts), which PostgreSQL writes far faster than thousands of index entries;
 *   `applyStatement` moves them into `kv` afterwards, off the path of the acknowledgement.
 * Log rows of a room apply oldest first and exactly once: an apply deletes its row only while no
 * older row of the room is left, and changes `kv` only if it did delete it. A direct commit runs
 * only while the room has no log row at all, so it never lands under an older logged one.
 *
 * With `batch.fence`, a first CTE bumps the room's ownership row only if its epoch is still the
 * batch's, and every other CTE runs only if that row came back, so a stale owner's commit changes
 * nothing (`fenced = true`). The UPDATE takes the row lock a claim also takes: a takeover is
 * ordered after an in-flight commit, or the commit sees the new epoch. Applies need no fence: a
 * log row is a commit already made durable under a valid epoch, whoever moves it into `kv`.
 *
 * Sibling CTEs see the same snapshot and must not touch the same row twice, so `deleteAll`
 * deletes every key except the ones the batch puts (those are overwritten by the upsert), and
 * `deletes` never meets `puts` (the overlay keeps one write per key).
 */
import type { RoomRef } from "../core/api/storage-api.js";
import type { Batch } from "./driver.js";
import type { BatchChanges } from "./batch-codec.js";
import type { TableNames } from "./postgres-schema.js";

export type Params = (string | number | Buffer | null)[];

export interface Statement {
  readonly text: string;
  readonly params: Params;
}

const ROOM = "party = $1 AND room = $2";

/** Collects parameters; `p(v)` returns the placeholder of `v`. */
class Builder {
  readonly params: Params;
  constructor(ref: RoomRef) {
    this.params = [ref.party, ref.room];
  }
  p(value: string | number | Buffer): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
}

/** The key changes of `batch` as CTEs, each run only where `cond` (SQL) holds. */
function kvParts(
  t: TableNames,
  batch: BatchChanges,
  b: Builder,
  cond: string | undefined,
): string[] {
  const and = cond === undefined ? "" : ` AND ${cond}`;
  const where = cond === undefined ? "" : ` WHERE ${cond}`;
  const parts: string[] = [];
  const { puts } = batch;
  if (batch.deleteAll) {
    const keep =
      puts.length === 0 ? "" : ` AND key <> ALL(${b.p(byteaArray(puts.map(([k]) => k)))}::bytea[])`;
    parts.push(`d AS (DELETE FROM ${t.kv} WHERE ${ROOM}${keep}${and})`);
  } else if (batch.deletes.length > 0) {
    parts.push(
      `d AS (DELETE FROM ${t.kv} WHERE ${ROOM} AND key = ANY(${b.p(byteaArray(batch.deletes))}::bytea[])${and})`,
    );
  }
  const upsert = "ON CONFLICT (party, room, key) DO UPDATE SET value = EXCLUDED.value";
  if (puts.length === 1) {
    const [key, value] = puts[0]!;
    const row = `$1, $2, ${b.p(Buffer.from(key, "utf8"))}, ${b.p(toBuffer(value))}`;
    parts.push(
      `p AS (INSERT INTO ${t.kv} (party, room, key, value) ` +
        `${cond === undefined ? `VALUES (${row})` : `SELECT ${row}${where}`} ${upsert})`,
    );
  } else if (puts.length > 1) {
    const keys = b.p(byteaArray(puts.map(([k]) => k)));
    const values = b.p(byteaArray(puts.map(([, v]) => v)));
    parts.push(
      `p AS (INSERT INTO ${t.kv} (party, room, key, value) ` +
        `SELECT $1, $2, k, v FROM unnest(${keys}::bytea[], ${values}::bytea[]) AS u(k, v)${where} ${upsert})`,
    );
  }
  return parts;
}

/** The alarm change of `batch` as a CTE, if it has one. */
function alarmPart(t: TableNames, batch: Batch, b: Builder, cond: string | undefined): string[] {
  const and = cond === undefined ? "" : ` AND ${cond}`;
  if (batch.alarm === null) return [`a AS (DELETE FROM ${t.alarms} WHERE ${ROOM}${and})`];
  if (batch.alarm === undefined) return [];
  const row = `$1, $2, ${b.p(batch.alarm)}::bigint`;
  return [
    `a AS (INSERT INTO ${t.alarms} (party, room, scheduled_ms) ` +
      `${cond === undefined ? `VALUES (${row})` : `SELECT ${row} WHERE ${cond}`} ` +
      "ON CONFLICT (party, room) DO UPDATE SET scheduled_ms = EXCLUDED.scheduled_ms)",
  ];
}

function fencePart(t: TableNames, batch: Batch, b: Builder): string {
  return (
    `f AS (UPDATE ${t.rooms} SET version = version + 1 ` +
    `WHERE ${ROOM} AND epoch = ${b.p(batch.fence!.epoch)}::bigint RETURNING 1)`
  );
}

const FENCED = "EXISTS (SELECT 1 FROM f)";

/**
 * A direct commit, or null when `batch` changes nothing. Answers one row: `fenced` (a stale
 * owner's commit) and `blocked` (the room has log rows to apply first); either way it changed
 * nothing.
 */
export function commitStatement(t: TableNames, ref: RoomRef, batch: Batch): Statement | null {
  const b = new Builder(ref);
  const heads: string[] = [];
  const conds: string[] = [];
  if (batch.fence !== undefined) {
    heads.push(fencePart(t, batch, b));
    conds.push(FENCED);
  }
  const touchesKeys = batch.deleteAll || batch.deletes.length > 0 || batch.puts.length > 0;
  if (touchesKeys) {
    heads.push(`g AS (SELECT NOT EXISTS (SELECT 1 FROM ${t.log} WHERE ${ROOM}) AS free)`);
  }
  const cond = conds.length === 0 ? undefined : conds.join(" AND ");
  const kvCond = touchesKeys ? [...conds, "(SELECT free FROM g)"].join(" AND ") : cond;
  const parts = [...kvParts(t, batch, b, kvCond), ...alarmPart(t, batch, b, kvCond)];
  if (parts.length === 0) return null;
  const fenced = batch.fence !== undefined ? `NOT ${FENCED}` : "false";
  const blocked = touchesKeys ? "NOT (SELECT free FROM g)" : "false";
  return {
    text: `WITH ${[...heads, ...parts].join(", ")} SELECT ${fenced} AS fenced, ${blocked} AS blocked`,
    params: b.params,
  };
}

/**
 * A logged commit: `blob` (the batch's key changes) as a new log row, and the alarm change at
 * once (alarm rows are read by other nodes and are never logged). Answers `fenced` and the new
 * row's `id` (null when fenced).
 */
export function logStatement(t: TableNames, ref: RoomRef, batch: Batch, blob: Buffer): Statement {
  const b = new Builder(ref);
  const heads = batch.fence !== undefined ? [fencePart(t, batch, b)] : [];
  const cond = batch.fence !== undefined ? FENCED : undefined;
  const log =
    `lg AS (INSERT INTO ${t.log} (party, room, batch) SELECT $1, $2, ${b.p(blob)}::bytea` +
    `${cond === undefined ? "" : ` WHERE ${cond}`} RETURNING id)`;
  const parts = [...alarmPart(t, batch, b, cond), log];
  const fenced = batch.fence !== undefined ? `NOT ${FENCED}` : "false";
  return {
    text: `WITH ${[...heads, ...parts].join(", ")} SELECT ${fenced} AS fenced, (SELECT id::float8 FROM lg) AS id`,
    params: b.params,
  };
}

/**
 * Moves log row `id` (holding `batch`) into `kv`, if it is the room's oldest. Answers `applied`
 * (this statement did it) and `blocked` (an older row is left: apply that first); neither means
 * someone else applied it already.
 */
export function applyStatement(
  t: TableNames,
  ref: RoomRef,
  batch: BatchChanges,
  id: number,
): Statement {
  const b = new Builder(ref);
  const at = `${b.p(id)}::bigint`;
  const older = `SELECT 1 FROM ${t.log} o WHERE o.party = $1 AND o.room = $2 AND o.id < ${at}`;
  const take = `l AS (DELETE FROM ${t.log} WHERE id = ${at} AND NOT EXISTS (${older}) RETURNING 1)`;
  const parts = kvParts(t, batch, b, "EXISTS (SELECT 1 FROM l)");
  return {
    text:
      `WITH ${[take, ...parts].join(", ")} ` +
      `SELECT EXISTS (SELECT 1 FROM l) AS applied, EXISTS (${older}) AS blocked`,
    params: b.params,
  };
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * A bytea[] in PostgreSQL's text form, `{"\\x6b31","\\x6b32"}`: hex elements need no escaping.
 * Passed as text and cast in SQL, so postgres.js needs no array type information (which it only
 * has after its first connection's type query).
 */
export function byteaArray(items: readonly (string | Uint8Array)[]): string {
  let out = "{";
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const hex =
      typeof item === "string"
        ? Buffer.from(item, "utf8").toString("hex")
        : toBuffer(item).toString("hex");
    out += `${i === 0 ? "" : ","}"\\\\x${hex}"`;
  }
  return `${out}}`;
}
