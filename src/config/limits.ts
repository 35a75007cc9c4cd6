/**
 * The one place limits are checked: partykit.json's `limits` and `startPartyhouse({ limits })`
 * go through the same rules (config/schema.ts), so a bad value is refused with the field named
 * whichever way it came in, then merged over the defaults and frozen.
 */
import { defaultLimits } from "../core/limits.js";
import type { Limits } from "../core/limits.js";
import { limitsSchema } from "./schema.js";
import { validate } from "./validate.js";

/**
 * @example
 * resolveLimits({ idleTimeoutMs: 5000 }, "startPartyhouse"); // defaults with idleTimeoutMs 5000
 * resolveLimits({ maxConnectionsPerRoom: -5 }, "startPartyhouse");
 * // throws PH_ERR_CONFIG "startPartyhouse: limits.maxConnectionsPerRoom must be a positive integer, got -5"
 */
export function resolveLimits(input: unknown, source: string): Readonly<Limits> {
  if (input === undefined) return defaultLimits;
  validate(limitsSchema, input, source, "limits");
  return Object.freeze({ ...defaultLimits, ...(input as Partial<Limits>) });
}
