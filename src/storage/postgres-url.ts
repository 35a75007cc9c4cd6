/**
 * Connection URLs for the PostgreSQL driver: checking them at the edge, and showing them in logs
 * and errors without the password.
 */
import { PartyhouseError } from "../core/errors.js";

/** `postgres://` and `postgresql://`, as libpq and every client accept. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** Throws PH_ERR_CONFIG unless `url` is a PostgreSQL connection URL; `source` names where it came from. */
export function checkPostgresUrl(url: unknown, source: string): string {
  if (typeof url !== "string" || !isPostgresUrl(url)) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `${source} must be a PostgreSQL URL like postgres://user:password@host:5432/database, ` +
        `got ${typeof url === "string" ? JSON.stringify(redactUrl(url)) : String(url)}.`,
    );
  }
  return url;
}

/**
 * The URL with its password replaced by `***`, for messages and logs. A URL the WHATWG parser
 * refuses (libpq accepts some, e.g. several hosts) still has anything between `:` and `@` masked.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, "$1:***@");
  }
}

/** What the driver hands postgres.js: the URL without our own query parameters, and those. */
export interface ParsedPostgresUrl {
  /** The URL minus `schema` and `host` query parameters. */
  url: string;
  /** `?schema=NAME`: keep partyhouse's tables in that schema. */
  schema?: string;
  /** `?host=/run/postgresql` (libpq's form): a Unix socket directory, or a host name. */
  host?: string;
}

/**
 * Splits off the query parameters partyhouse reads itself. postgres.js sends every unknown query
 * parameter to the server as a setting (so `?search_path=x` works as in libpq), and would send
 * these too; it also ignores libpq's `?host=`, which is how a Unix socket is named.
 */
export function parsePostgresUrl(url: string): ParsedPostgresUrl {
  const q = url.indexOf("?");
  if (q === -1) return { url };
  const params = new URLSearchParams(url.slice(q + 1));
  const out: ParsedPostgresUrl = { url };
  const schema = params.get("schema");
  const host = params.get("host");
  if (schema !== null) out.schema = schema;
  if (host !== null) {
    out.host = host;
    // `postgres://user@/db?host=/run/postgresql` has no host in the authority, which the URL
    // parser refuses; the `host` option given beside it wins anyway.
    url = url.replace(/^(postgres(?:ql)?:\/\/(?:[^@/?]*@)?)(?=[/?]|$)/i, "$1localhost");
  }
  params.delete("schema");
  params.delete("host");
  const rest = params.toString();
  out.url = url.slice(0, url.indexOf("?")) + (rest === "" ? "" : `?${rest}`);
  return out;
}
