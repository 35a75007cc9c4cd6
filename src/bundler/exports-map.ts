/**
 * Just enough of Node's `exports` rules to answer one question: does the branch of a package's
 * `exports` that an import selects name any of the worker conditions? (esbuild does the actual
 * resolving; this only decides whether the worker build differs from what Node would load.)
 */

/** PartyKit's bundler conditions: its own, workerd's, and `browser` (esbuild's default platform). */
export const WORKER_CONDITIONS: readonly string[] = Object.freeze([
  "partykit",
  "workerd",
  "worker",
  "browser",
]);

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The `exports` value for `subpath` ("." or "./x"), following exact keys, then `*` patterns. */
export function exportsEntry(exports: Json, subpath: string): Json {
  if (!isObject(exports)) return subpath === "." ? exports : undefined;
  const keys = Object.keys(exports);
  if (!keys.some((k) => k.startsWith("."))) return subpath === "." ? exports : undefined;
  if (Object.hasOwn(exports, subpath)) return exports[subpath];
  let best: Json = undefined;
  let bestPrefix = -1;
  let bestKey = -1;
  for (const key of keys) {
    const star = key.indexOf("*");
    if (star < 0) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    // Node's order: the longest prefix, then the longest key.
    const better =
      prefix.length > bestPrefix || (prefix.length === bestPrefix && key.length > bestKey);
    if (
      better &&
      subpath.startsWith(prefix) &&
      subpath.endsWith(suffix) &&
      subpath.length >= prefix.length + suffix.length
    ) {
      best = exports[key];
      bestPrefix = prefix.length;
      bestKey = key.length;
    }
  }
  return best;
}

/** True when a conditional branch (at any depth) is keyed by one of `conditions`. */
export function mentionsCondition(entry: Json, conditions: readonly string[]): boolean {
  if (Array.isArray(entry)) return entry.some((e) => mentionsCondition(e, conditions));
  if (!isObject(entry)) return false;
  return Object.entries(entry).some(
    ([key, value]) => conditions.includes(key) || mentionsCondition(value, conditions),
  );
}

/** Splits a bare specifier into its package name and `exports` subpath. */
export function splitSpecifier(specifier: string): { name: string; subpath: string } {
  const parts = specifier.split("/");
  const count = specifier.startsWith("@") ? 2 : 1;
  const name = parts.slice(0, count).join("/");
  const rest = parts.slice(count).join("/");
  return { name, subpath: rest === "" ? "." : `./${rest}` };
}
