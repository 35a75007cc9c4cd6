/**
 * PostgreSQL for tests: a real server (127.0.0.1:5432, user postgres, trust auth unless
 * PARTYHOUSE_TEST_POSTGRES_URL says otherwise). Each test file makes its own database and drops
 * it afterwards, even on failure. Without a server the tests fail: they never skip.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import postgres from "postgres";

/** A superuser connection to an existing database, used to create and drop test databases. */
export const ADMIN_URL =
  process.env["PARTYHOUSE_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** An admin client; callers end it. */
export function adminSql(url = ADMIN_URL): postgres.Sql {
  return postgres(url, { max: 2, onnotice: () => {}, connect_timeout: 5 });
}

/** Null when PostgreSQL answers, else why not. */
async function probe(): Promise<string | null> {
  const sql = adminSql();
  try {
    await sql`SELECT 1`;
    return null;
  } catch (e) {
    return `PostgreSQL is unreachable at ${ADMIN_URL}: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/**
 * Registers the file's tests when PostgreSQL answers, else one failing test naming what is
 * missing: a service the tests need must not pass as green (or as skipped), in CI or anywhere.
 */
export async function whenPostgres(register: () => void): Promise<void> {
  const missing = await probe();
  if (missing === null) {
    register();
    return;
  }
  test("PostgreSQL is reachable (the tests of this file need it)", () => assert.fail(missing));
}

export interface TestDatabase {
  /** URL of the fresh database, for the code under test. */
  readonly url: string;
  readonly name: string;
  /** A superuser client connected to the fresh database. */
  readonly sql: postgres.Sql;
}

/**
 * A fresh database for this file, created on first use and dropped (WITH FORCE, so leftover
 * connections do not block it) when the file's tests are done, whatever their outcome.
 */
export function fileDatabase(): () => Promise<TestDatabase> {
  let made: Promise<TestDatabase> | undefined;
  after(async () => {
    if (made === undefined) return;
    const db = await made.catch(() => undefined);
    if (db === undefined) return;
    await db.sql.end({ timeout: 1 }).catch(() => {});
    await dropDatabase(db.name);
  });
  return () => (made ??= createDatabase());
}

/** Creates a database with a unique name; pair with `dropDatabase`. */
export async function createDatabase(): Promise<TestDatabase> {
  const name = `ph_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = adminSql();
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  const url = databaseUrl(name);
  return { url, name, sql: adminSql(url) };
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = adminSql();
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end({ timeout: 1 });
  }
}

/** ADMIN_URL pointed at another database. */
export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}
