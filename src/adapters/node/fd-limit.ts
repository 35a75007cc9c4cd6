import { readFileSync } from "node:fs";

/** Descriptors kept back for everything that is not a client: SQLite, watchers, DNS, logs. */
const RESERVED = 256;

/**
 * The soft open-file limit of this process (`ulimit -n`), read from /proc on Linux; undefined
 * elsewhere. Every connection is a descriptor, so a connection cap above it would never refuse
 * cleanly: the kernel would (EMFILE), and clients would see resets instead of a 503.
 */
export function openFileLimit(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    const n = Number(soft);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** maxConnections, lowered to fit the open-file limit when it would not. */
export function connectionCap(maxConnections: number, fdLimit = openFileLimit()): number {
  if (fdLimit === undefined) return maxConnections;
  return Math.max(1, Math.min(maxConnections, fdLimit - RESERVED));
}
