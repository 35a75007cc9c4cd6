import { pathToFileURL } from "node:url";
import { PartyhouseError } from "../core/errors.js";

/** Imports each built party module and returns its default export by party name. */
export async function importParties(
  built: Readonly<Record<string, string>>,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, file] of Object.entries(built)) {
    const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    if (mod.default === undefined) {
      throw new PartyhouseError(
        "PH_ERR_PARTY_EXPORT",
        `party "${name}": the module has no default export; export default your Party.Server class`,
      );
    }
    out[name] = mod.default;
  }
  return out;
}
