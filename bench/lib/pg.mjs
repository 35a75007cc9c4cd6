// A fresh PostgreSQL database for one benchmark process, dropped again by `drop()` (WITH FORCE,
// so connections a killed node left behind do not block it).
import postgres from "postgres";

/** The local server's Unix socket: reachable from inside a loopback-only network namespace. */
export const SOCKET_ADMIN_URL = "postgres://postgres@localhost/postgres?host=/var/run/postgresql";
/** The local server over TCP (outside a network namespace). */
export const TCP_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * Creates database `name` (dropping a leftover of that name first) on the server of `admin`, a
 * superuser URL that may name a socket folder with `?host=`. Returns its URL in the same form,
 * which partyhouse reads too.
 * @param {string} admin
 * @param {string} name
 */
export async function freshDatabase(admin, name) {
  // As an http: URL, the WHATWG parser splits it; postgres.js does not read libpq's ?host=.
  const parsed = new URL(admin.replace(/^postgres(ql)?:/, "http:"));
  const host = parsed.searchParams.get("host");
  const run = async (statement) => {
    const sql = postgres(admin.split("?")[0], {
      ...(host ? { host } : {}),
      max: 1,
      connect_timeout: 5,
      onnotice: () => {},
    });
    try {
      await sql.unsafe(statement);
    } finally {
      await sql.end({ timeout: 1 });
    }
  };
  await run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await run(`CREATE DATABASE "${name}"`);
  parsed.pathname = `/${name}`;
  return {
    name,
    url: parsed.toString().replace(/^http:/, "postgres:"),
    drop: () => run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/**
 * A postgres.js client for `url` (the form `freshDatabase` returns, `?host=` included).
 * @param {string} url
 */
export function sqlFor(url) {
  const host = new URL(url.replace(/^postgres(ql)?:/, "http:")).searchParams.get("host");
  return postgres(url.split("?")[0], {
    ...(host ? { host } : {}),
    max: 1,
    connect_timeout: 5,
    onnotice: () => {},
  });
}
