/**
 * How party code's package imports are resolved. PartyKit bundles every package for workerd with
 * the conditions in WORKER_CONDITIONS; partyhouse runs on Node, where most packages are best left
 * to Node (one shared copy, native addons, no bundling cost). So a package import stays external
 * (Node loads it from node_modules at run time) unless the package's `exports` has a worker
 * branch for it: then Node would load a different build than PartyKit does (react-dom/server's
 * `renderToReadableStream` exists only in its edge build), and that worker build is bundled.
 */
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join } from "node:path";
import type { Plugin } from "esbuild";
import {
  WORKER_CONDITIONS,
  exportsEntry,
  mentionsCondition,
  splitSpecifier,
} from "./exports-map.js";
import { INNER_RESOLVE } from "./inner-resolve.js";

/** esbuild's recommended filter for "not a relative or absolute path". */
const BARE = /^[^./]|^\.[^./]|^\.\.[^/]/;
const BUILTINS = new Set(builtinModules);

function isBuiltin(specifier: string): boolean {
  if (specifier.startsWith("node:") || specifier.startsWith("cloudflare:")) return true;
  return BUILTINS.has(specifier.split("/")[0]!) || BUILTINS.has(specifier);
}

/** The package.json of package `name` that holds `file`, walking up from it. */
function packageJsonOf(file: string, name: string): Record<string, unknown> | undefined {
  let dir = dirname(file);
  for (;;) {
    try {
      const json = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<
        string,
        unknown
      >;
      if (json["name"] === name) return json;
    } catch {}
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** An esbuild plugin: bare imports external, except packages with a worker build for them. */
export function packagesPlugin(): Plugin {
  return {
    name: "partyhouse-packages",
    setup(build) {
      build.onResolve({ filter: BARE }, async (args) => {
        if (args.pluginData === INNER_RESOLVE) return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const external = { path: args.path, external: true };
        const found = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: INNER_RESOLVE,
        });
        // What esbuild cannot resolve is left to Node, as before: it may know better (or it
        // fails at start with Node's own message).
        if (found.errors.length > 0 || found.external || found.path === "") return external;
        const { name, subpath } = splitSpecifier(args.path);
        const pkg = packageJsonOf(found.path, name);
        if (pkg === undefined) return external;
        const entry = exportsEntry(pkg["exports"], subpath);
        if (!mentionsCondition(entry, WORKER_CONDITIONS)) return external;
        return { path: found.path, sideEffects: found.sideEffects };
      });
    },
  };
}
