/**
 * The dependency spec `partyhouse init` writes for partyhouse itself, so that the new project's
 * `npm install` finds the same partyhouse that ran `init`: a checkout (`file:` to its folder), a
 * tarball it was installed from (`file:` to that tarball, as npm recorded it), or the registry
 * (`^version`) when npm says it came from there.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder holding partyhouse's package.json (this module is `dist/cli/install-spec.js`). */
export function partyhouseRoot(): string {
  return realpathSync(fileURLToPath(new URL("../../", import.meta.url)));
}

/** partyhouse's own package.json. */
export function partyhousePackage(): {
  version: string;
  dependencies: Record<string, string>;
} {
  return JSON.parse(readFileSync(join(partyhouseRoot(), "package.json"), "utf8")) as {
    version: string;
    dependencies: Record<string, string>;
  };
}

/** A `file:` spec for `target` as seen from `projectDir` (relative when that is shorter). */
function fileSpec(target: string, projectDir: string): string {
  const rel = relative(projectDir, target).split(sep).join("/");
  // Far apart (say /tmp and /home), an absolute path survives moving the project better.
  if (rel.split("/").filter((p) => p === "..").length > 2) return `file:${target}`;
  return `file:${rel.startsWith(".") ? rel : `./${rel}`}`;
}

/**
 * What npm recorded as the source of `node_modules/partyhouse` of the install that holds `root`:
 * `.package-lock.json` of that node_modules (a project) or `package-lock.json` beside it (npx).
 */
function recordedSource(root: string): { resolved: string; base: string } | undefined {
  const nodeModules = dirname(root);
  const base = dirname(nodeModules);
  for (const lock of [join(nodeModules, ".package-lock.json"), join(base, "package-lock.json")]) {
    if (!existsSync(lock)) continue;
    try {
      const parsed = JSON.parse(readFileSync(lock, "utf8")) as {
        packages?: Record<string, { resolved?: string }>;
      };
      const resolved = parsed.packages?.["node_modules/partyhouse"]?.resolved;
      if (resolved) return { resolved, base };
    } catch {
      // An unreadable lock file says nothing; try the next one.
    }
  }
  return undefined;
}

/**
 * The spec for `dependencies.partyhouse` in a project at `projectDir`.
 *
 * @example
 * installSpec("/home/me/my-app"); // "file:../partyhouse" when run from a checkout next to it
 */
export function installSpec(projectDir: string, root: string = partyhouseRoot()): string {
  const inNodeModules = root.split(sep).includes("node_modules");
  if (!inNodeModules) return fileSpec(root, projectDir);
  const source = recordedSource(root);
  if (source?.resolved.startsWith("file:")) {
    const path = source.resolved.slice("file:".length);
    return fileSpec(isAbsolute(path) ? path : resolve(source.base, path), projectDir);
  }
  return `^${partyhousePackage().version}`;
}
