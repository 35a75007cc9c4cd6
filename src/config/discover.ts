/**
 * Finding and reading the project's config file. PartyKit looks for partykit.json, .json5 and
 * .jsonc, then the `partykit` key of package.json; every form is parsed as JSON5 (comments,
 * trailing commas), which is a superset of all three.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import JSON5 from "json5";
import { PartyhouseError, errorMessage } from "../core/errors.js";

export const CONFIG_FILE_NAMES = ["partykit.json", "partykit.json5", "partykit.jsonc"] as const;

/** A config as read from disk, before validation. */
export interface RawConfigSource {
  /** Absolute path of the file the config came from. */
  path: string;
  /** How messages name the source: `partykit.json` or `package.json#partykit`. */
  label: string;
  value: unknown;
}

function parseFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new PartyhouseError("PH_ERR_CONFIG", `Cannot read ${path}: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  try {
    return JSON5.parse(text);
  } catch (e) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `${basename(path)} is not valid JSON5: ${errorMessage(e)}`,
      { cause: e },
    );
  }
}

/**
 * Reads the config named by `-c/--config` (relative to cwd), or else the first of partykit.json,
 * partykit.json5, partykit.jsonc, package.json#partykit found in `cwd`. Returns undefined when the
 * project has none (a bare `partyhouse dev server.ts` is allowed).
 */
export function readConfigSource(cwd: string, configPath?: string): RawConfigSource | undefined {
  if (configPath !== undefined) {
    const path = resolve(cwd, configPath);
    if (!existsSync(path)) {
      throw new PartyhouseError(
        "PH_ERR_CONFIG",
        `Config file not found: ${path} (from --config ${configPath}).`,
      );
    }
    const value = parseFile(path);
    // `-c package.json` means the partykit key of that file, as it would be found by default.
    if (basename(path) === "package.json") return fromPackageJson(path, value);
    return { path, label: basename(path), value };
  }
  for (const name of CONFIG_FILE_NAMES) {
    const path = join(cwd, name);
    if (existsSync(path)) return { path, label: name, value: parseFile(path) };
  }
  const pkgPath = join(cwd, "package.json");
  if (existsSync(pkgPath)) {
    const pkg = parseFile(pkgPath);
    if (typeof pkg === "object" && pkg !== null && "partykit" in pkg) {
      return fromPackageJson(pkgPath, pkg);
    }
  }
  return undefined;
}

function fromPackageJson(path: string, pkg: unknown): RawConfigSource {
  const value =
    typeof pkg === "object" && pkg !== null
      ? (pkg as Record<string, unknown>)["partykit"]
      : undefined;
  if (value === undefined) {
    throw new PartyhouseError("PH_ERR_CONFIG", `${path} has no "partykit" field.`);
  }
  return { path, label: "package.json#partykit", value };
}
