/**
 * The room, party and path come from the request line, never from the Host header. Node hands us
 * the Host as sent and the request target as sent; the Web `Request` needs one absolute URL made
 * of both. A Host carrying a path or query (`127.0.0.1/parties/main/other?`) would move the real
 * path into the query, a space or a bad port makes the URL parser throw: both are refused here
 * with 400. So are targets that the URL parser would rewrite into another route: a backslash
 * (WHATWG turns it into `/`), `.`/`..` segments, raw or percent-encoded (WHATWG resolves both).
 * Percent-encoded slashes stay: a room id is the raw segment, so `a%2Fb` is its own room and
 * aliases nothing.
 */
import { PartyhouseError } from "../../core/errors.js";

/** reg-name / IPv4 (RFC 3986 unreserved, sub-delims, pct-encoded) or [IPv6], then :port. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::(\d{1,5}))?$/;
/** A dot segment, raw or percent-encoded (`%2e`, `%2E`), between slashes or at the end. */
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?=\/|$)/i;

function bad(message: string): PartyhouseError {
  return new PartyhouseError("PH_ERR_BAD_REQUEST", message, { status: 400 });
}

/** The Host header, checked; a request without one (HTTP/1.0) is `localhost`. */
export function checkHost(host: string | undefined): string {
  if (host === undefined || host === "") return "localhost";
  const m = HOST.exec(host);
  if (m === null) throw bad(`Bad Host header: ${JSON.stringify(host.slice(0, 100))}`);
  if (m[1] !== undefined && Number(m[1]) > 65535) throw bad(`Bad port in Host header: ${m[1]}`);
  try {
    new URL(`http://${host}/`);
  } catch {
    throw bad(`Bad Host header: ${JSON.stringify(host.slice(0, 100))}`);
  }
  return host;
}

/** The request target, which must be a canonical origin-form path (`/...`). */
export function checkTarget(target: string | undefined): string {
  if (target === undefined || target === "") return "/";
  if (target.charCodeAt(0) !== 47 /* "/" */) {
    throw bad("The request target must be a path starting with /");
  }
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  if (path.includes("\\")) throw bad("Backslashes are not allowed in the path");
  if (DOT_SEGMENT.test(path)) throw bad("Dot segments (. and ..) are not allowed in the path");
  return target;
}
