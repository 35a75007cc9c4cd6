import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { ParsedCli } from "../config/cli-args.js";
import { errorMessage, PartyhouseError } from "../core/errors.js";
import { installSpec, partyhousePackage } from "./install-spec.js";
import { templateFiles, templatePackage } from "./templates/chat.js";
import type { TemplateDeps } from "./templates/chat.js";

/**
 * Adds what the scaffold needs to an existing package.json and keeps everything it has:
 * a dependency or script already there wins.
 */
export function mergePackage(
  existing: Record<string, unknown>,
  wanted: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...existing };
  const hasTs = ["dependencies", "devDependencies"].some(
    (k) => (existing[k] as Record<string, string> | undefined)?.typescript !== undefined,
  );
  for (const key of ["scripts", "dependencies", "devDependencies", "allowScripts"]) {
    const add = { ...(wanted[key] as Record<string, unknown>) };
    if (key === "devDependencies" && hasTs) delete add.typescript;
    out[key] = { ...add, ...(existing[key] as Record<string, unknown> | undefined) };
  }
  return out;
}

function readPackage(path: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error("it is not a JSON object");
    }
    return parsed as Record<string, unknown>;
  } catch (e) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `init: cannot read ${path} (${errorMessage(e)}); fix the file or run init in a new folder`,
    );
  }
}

/**
 * `partyhouse init [name]`: writes a working chat project (a party with storage-backed history
 * and a page using partysocket) and runs `npm install`. Without a name it writes into the current
 * folder. In a folder with a package.json it adds partyhouse to it (merged, nothing removed) and
 * writes only the scaffold files that do not exist yet: it never overwrites a file.
 */
export async function runInit(cli: ParsedCli): Promise<void> {
  const dir = resolve(process.cwd(), cli.name ?? ".");
  const name =
    basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-") || "partyhouse-app";
  const own = partyhousePackage();
  const deps: TemplateDeps = {
    partyhouse: installSpec(dir),
    partysocket: own.dependencies.partysocket ?? "*",
    typescript: "^5",
  };
  const pkgPath = join(dir, "package.json");
  const existing = existsSync(pkgPath) ? readPackage(pkgPath) : undefined;
  const pkg = existing
    ? mergePackage(existing, templatePackage(name, deps))
    : templatePackage(name, deps);

  const say = (line: string) => process.stdout.write(line + "\n");
  const files = templateFiles(name);
  if (cli.dryRun) {
    say(`would ${existing ? "update" : "write"} ${pkgPath}`);
    for (const file of Object.keys(files)) {
      const path = join(dir, file);
      say(existsSync(path) ? `would keep ${path} (exists)` : `would write ${path}`);
    }
    if (cli.install) say(`would run npm install in ${dir}`);
    return;
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + "\n");
  for (const [file, text] of Object.entries(files)) {
    const path = join(dir, file);
    if (existsSync(path)) {
      say(`kept ${file} (exists)`);
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  say(`${existing ? "Added partyhouse to" : "Created a partyhouse project in"} ${dir}`);
  if (cli.install) {
    say("Running npm install…");
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const r = spawnSync(npm, ["install", "--no-audit", "--no-fund"], {
      cwd: dir,
      stdio: "inherit",
    });
    if (r.error || r.status !== 0) {
      throw new PartyhouseError(
        "PH_ERR_INIT_INSTALL",
        `init: npm install failed in ${dir} (${r.error ? r.error.message : `exit status ${r.status}`}); fix the error above and run npm install there`,
      );
    }
  }
  const cd = cli.name ? `cd ${cli.name} && ` : "";
  say(
    `\nNext:\n  ${cd}${cli.install ? "" : "npm install && "}npx partyhouse dev\n\nthen open http://127.0.0.1:1999`,
  );
}
