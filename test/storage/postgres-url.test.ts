import assert from "node:assert/strict";
import { test } from "node:test";
import { PartyhouseError } from "../../src/core/errors.js";
import { checkPostgresUrl, parsePostgresUrl, redactUrl } from "../../src/storage/postgres-url.js";
import { tableNames } from "../../src/storage/postgres-schema.js";

test("redactUrl masks the password and nothing else", () => {
  assert.equal(redactUrl("postgres://u:p%40ss@h:5432/db?x=1"), "postgres://u:***@h:5432/db?x=1");
  assert.equal(redactUrl("postgres://u@h/db"), "postgres://u@h/db");
  // Several hosts: the URL parser refuses it, the mask still applies.
  assert.equal(
    redactUrl("postgres://u:secret@h1:5432,h2:5432/db"),
    "postgres://u:***@h1:5432,h2:5432/db",
  );
});

test("parsePostgresUrl takes out ?schema= and libpq's ?host=, keeps the rest", () => {
  assert.deepEqual(parsePostgresUrl("postgres://u@h/db"), { url: "postgres://u@h/db" });
  assert.deepEqual(parsePostgresUrl("postgres://u@h/db?schema=rooms&sslmode=require"), {
    url: "postgres://u@h/db?sslmode=require",
    schema: "rooms",
  });
  assert.deepEqual(parsePostgresUrl("postgres://u@/db?host=%2Fvar%2Frun%2Fpostgresql"), {
    url: "postgres://u@localhost/db",
    host: "/var/run/postgresql",
  });
  assert.deepEqual(parsePostgresUrl("postgresql:///db?host=/tmp&max=3"), {
    url: "postgresql://localhost/db?max=3",
    host: "/tmp",
  });
});

test("checkPostgresUrl and tableNames refuse what cannot work, with PH_ERR_CONFIG", () => {
  assert.equal(checkPostgresUrl("postgresql://h/db", "x"), "postgresql://h/db");
  const config = (e: unknown) => e instanceof PartyhouseError && e.code === "PH_ERR_CONFIG";
  assert.throws(() => checkPostgresUrl("./db.sqlite", "--database"), config);
  assert.throws(() => checkPostgresUrl(undefined, "storage.url"), config);
  assert.throws(() => tableNames(undefined, "bad-prefix"), config);
  assert.throws(() => tableNames("", "ok_"), config);
  assert.deepEqual(tableNames('we"ird', "p_").kv, '"we""ird"."p_kv"');
  assert.equal(tableNames(undefined, "").alarms, '"alarms"');
});
