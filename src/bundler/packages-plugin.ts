/**
 * How party code's package imports are resolved. PartyKit bundles every package for workerd with
 * the conditions in WORKER_CONDITIONS; partyhouse runs on Node, where most packages are best left
 * to Node (one shared copy, native addons, no bundling cost). So a package import stays external
 * (Node loads it from node_modules at run time) unless the package's `exports` has a worker
 * branch for it: then Node would load a different build than PartyKit does (react-dom/server's
 * `renderToReadableStream` exists only in its edge build), and that worker build is bundled,
 * unless it imports workerd's own `cloudflare:` modules (then only the Node build can run).
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Dirent } from "node:fs";
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
  if (specifier.startsWith("node:")) return true;
  return BUILTINS.has(specifier.split("/")[0]!) || BUILTINS.has(specifier);
}

/** workerd's own modules (`cloudflare:sockets`, `cloudflare:workers`), which Node does not have. */
const WORKERD_MODULE = /^cloudflare:/;
const WORKERD_IMPORT = /["']cloudflare:[a-z]/;
const SCAN_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Whether a package's code imports a workerd module: its worker build then cannot run on Node
 * (the `postgres` package's workerd build opens sockets with `cloudflare:sockets`), so its Node
 * build is used instead. Reads the package's own .js/.mjs/.cjs files once (nested node_modules
 * excluded, bounded in size).
 */
function importsWorkerdModules(dir: string): boolean {
  let budget = SCAN_LIMIT_BYTES;
  const walk = (at: string): boolean => {
    let entries: Dirent[];
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return false;
    }
    for (const e of entries) {
      if (budget <= 0) return false;
      const path = join(at, e.name);
      if (e.isDirectory()) {
        if (e.name !== "node_modules" && walk(path)) return true;
      } else if (/\.(m|c)?js$/.test(e.name)) {
        const text = readFileSync(path, "utf8");
        budget -= text.length;
        if (WORKERD_IMPORT.test(text)) return true;
      }
    }
    return false;
  };
  return walk(dir);
}

/** The package.json (and folder) of package `name` that holds `file`, walking up from it. */
function packageJsonOf(
  file: string,
  name: string,
): { json: Record<string, unknown>; dir: string } | undefined {
  let dir = dirname(file);
  for (;;) {
    try {
      const json = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<
        string,
        unknown
      >;
      if (json["name"] === name) return { json, dir };
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
      const needsWorkerd = new Map<string, boolean>();
      build.onResolve({ filter: WORKERD_MODULE }, (args) => ({
        errors: [
          {
            text:
              `"${args.path}" is a module of Cloudflare's workerd runtime, which partyhouse (on Node.js) does not provide. ` +
              `Libraries built on it (partyserver and its partysub/partywhen, Durable Object classes) need Cloudflare.`,
          },
        ],
      }));
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
        const entry = exportsEntry(pkg.json["exports"], subpath);
        if (!mentionsCondition(entry, WORKER_CONDITIONS)) return external;
        let workerdOnly = needsWorkerd.get(pkg.dir);
        if (workerdOnly === undefined) {
          workerdOnly = importsWorkerdModules(pkg.dir);
          needsWorkerd.set(pkg.dir, workerdOnly);
        }
        if (workerdOnly) return external;
        return { path: found.path, sideEffects: found.sideEffects };
      });
    },
  };
}
