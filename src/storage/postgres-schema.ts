/**
 * The PostgreSQL tables and their migrations. Every table name carries a prefix (default
 * `partyhouse_`) and may live in a schema of its own, so partyhouse can share a database with the
 * application. The schema is created and migrated on start, under a transaction-level advisory
 * lock, so several processes starting against one database at once migrate it exactly once.
 *
 * Layout (version 1):
 * - `<prefix>kv (party, room, key, value)`: every room's keys. `key` is bytea holding the key's
 *   UTF-8 bytes: bytea compares with memcmp, which is UTF-8 byte order (Cloudflare's and SQLite's
 *   BINARY order) whatever the database's collation, and unlike text it can hold U+0000.
 * - `<prefix>alarms (party, room, scheduled_ms)`: one row per room with an alarm.
 * - `<prefix>schema_version (version)`: one row per applied migration.
 *
 * Version 2 adds the distributed mode's ownership tables (see src/cluster/):
 * - `<prefix>nodes (id, incarnation, url, status, lease_expires)`: one row per node; a node is live
 *   while `status = 'active'` and `lease_expires` is ahead of the database's `clock_timestamp()`.
 * - `<prefix>rooms (party, room, owner, owner_incarnation, epoch, version)`: who owns a room. Every
 *   claim and release bumps `epoch`, the fencing token a commit checks (see `commitStatement`);
 *   `version` counts fenced commits, so the check is an UPDATE that takes the row lock.
 *
 * Version 3 adds `<prefix>cron_ticks (name, tick_ms, node)`: one row per cron tick some node ran,
 * so each tick of a configured cron runs on one node of the cluster (see `claimCronTick`).
 *
 * Version 4 adds `<prefix>log (id, party, room, batch)`: large commits made durable as one row
 * each and moved into `kv` right after (see postgres-statements.ts); a row is left only by a
 * crash between the two, and the room's next reader or writer applies it first.
 */
import type postgres from "postgres";
import { PartyhouseError } from "../core/errors.js";

/** Quotes an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The qualified, quoted names of the tables, ready to splice into SQL. */
export interface TableNames {
  readonly kv: string;
  readonly alarms: string;
  readonly version: string;
  readonly nodes: string;
  readonly rooms: string;
  readonly cronTicks: string;
  readonly log: string;
  /** The schema named in the options, or undefined for the connection's search_path. */
  readonly schema: string | undefined;
  readonly prefix: string;
}

export function tableNames(schema: string | undefined, prefix: string): TableNames {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix) && prefix !== "") {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `The PostgreSQL table prefix must be letters, digits and underscores, got ${JSON.stringify(prefix)}.`,
    );
  }
  if (schema === "") {
    throw new PartyhouseError("PH_ERR_CONFIG", "The PostgreSQL schema name must not be empty.");
  }
  const q = (table: string) =>
    schema === undefined ? ident(prefix + table) : `${ident(schema)}.${ident(prefix + table)}`;
  return {
    kv: q("kv"),
    alarms: q("alarms"),
    version: q("schema_version"),
    nodes: q("nodes"),
    rooms: q("rooms"),
    cronTicks: q("cron_ticks"),
    log: q("log"),
    schema,
    prefix,
  };
}

/** Migration N brings the schema from version N-1 to N. Statements run in one transaction. */
const MIGRATIONS: readonly ((t: TableNames) => string[])[] = [
  (t) => [
    `CREATE TABLE ${t.kv} (
       party text COLLATE "C" NOT NULL,
       room text COLLATE "C" NOT NULL,
       key bytea NOT NULL,
       value bytea NOT NULL,
       PRIMARY KEY (party, room, key)
     )`,
    `CREATE TABLE ${t.alarms} (
       party text COLLATE "C" NOT NULL,
       room text COLLATE "C" NOT NULL,
       scheduled_ms bigint NOT NULL,
       PRIMARY KEY (party, room)
     )`,
    // listAlarms() reads every alarm at start-up, earliest first.
    `CREATE INDEX ${ident(`${t.prefix}alarms_by_time`)} ON ${t.alarms} (scheduled_ms)`,
  ],
  (t) => [
    `CREATE TABLE ${t.nodes} (
       id text COLLATE "C" PRIMARY KEY,
       incarnation bigint NOT NULL,
       url text NOT NULL,
       status text NOT NULL CHECK (status IN ('active', 'draining', 'dead')),
       lease_expires timestamptz NOT NULL
     )`,
    `CREATE TABLE ${t.rooms} (
       party text COLLATE "C" NOT NULL,
       room text COLLATE "C" NOT NULL,
       owner text COLLATE "C",
       owner_incarnation bigint,
       epoch bigint NOT NULL DEFAULT 0,
       version bigint NOT NULL DEFAULT 0,
       PRIMARY KEY (party, room)
     )`,
    // A node's rooms, for draining and for re-homing the rooms of a dead node.
    `CREATE INDEX ${ident(`${t.prefix}rooms_by_owner`)} ON ${t.rooms} (owner) WHERE owner IS NOT NULL`,
  ],
  (t) => [
    `CREATE TABLE ${t.cronTicks} (
       name text COLLATE "C" NOT NULL,
       tick_ms bigint NOT NULL,
       node text NOT NULL,
       PRIMARY KEY (name, tick_ms)
     )`,
  ],
  (t) => [
    `CREATE TABLE ${t.log} (
       id bigserial PRIMARY KEY,
       party text COLLATE "C" NOT NULL,
       room text COLLATE "C" NOT NULL,
       batch bytea NOT NULL
     )`,
    // Already compact (values are serialized): compressing it would only cost the commit time.
    `ALTER TABLE ${t.log} ALTER COLUMN batch SET STORAGE EXTERNAL`,
    `CREATE INDEX ${ident(`${t.prefix}log_by_room`)} ON ${t.log} (party, room, id)`,
  ],
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Creates the schema and tables, or brings them up to SCHEMA_VERSION. Refuses a database written
 * by a newer partyhouse. Safe to run from several processes at once.
 */
export async function migrate(sql: postgres.Sql, t: TableNames, where: string): Promise<void> {
  await sql.begin(async (tx) => {
    // Held until COMMIT: a second process waits here, then finds the tables made.
    const lockName = `partyhouse:${t.schema ?? ""}:${t.prefix}`;
    await tx.unsafe(
      t.schema === undefined
        ? "SELECT pg_advisory_xact_lock(hashtextextended($1 || coalesce(current_schema(), ''), 0))"
        : "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
      [lockName],
    );
    if (t.schema !== undefined) await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${ident(t.schema)}`);
    await tx.unsafe(
      `CREATE TABLE IF NOT EXISTS ${t.version} (
         version integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const rows = await tx.unsafe<{ v: number }[]>(
      `SELECT coalesce(max(version), 0)::int AS v FROM ${t.version}`,
    );
    const current = rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new PartyhouseError(
        "PH_ERR_STORAGE_IO",
        `The PostgreSQL database ${where} was written by a newer partyhouse (schema ${current}, ` +
          `this one knows ${SCHEMA_VERSION}); upgrade partyhouse or use another database or schema.`,
      );
    }
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      for (const statement of MIGRATIONS[version - 1]!(t)) await tx.unsafe(statement);
      await tx.unsafe(`INSERT INTO ${t.version} (version) VALUES ($1)`, [version]);
    }
  });
}
