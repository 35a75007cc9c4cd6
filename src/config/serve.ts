/**
 * `serve`: static assets and the optional client build. Defaults are PartyKit's: the client build
 * writes to `<serve.path>/dist`, bundles, splits, emits ESM with source maps.
 */
import { resolve } from "node:path";
import type { ServeJson } from "./schema.js";
import type { ClientBuildOptions, ServeConfig } from "./types.js";

/**
 * Normalizes `serve` (a path string or an object) into absolute paths and defaults.
 * `base` is the folder relative paths are read from. Returns undefined when nothing is served:
 * PartyKit also serves nothing for a `serve` object without `path`.
 */
export function resolveServe(serve: ServeJson | undefined, base: string): ServeConfig | undefined {
  if (serve === undefined) return undefined;
  const opts = typeof serve === "string" ? { path: serve } : serve;
  if (opts.path === undefined) return undefined;
  const path = resolve(base, opts.path);
  const result: ServeConfig = {
    path,
    singlePageApp: opts.singlePageApp ?? false,
    browserTTL: opts.browserTTL ?? null,
    edgeTTL: opts.edgeTTL ?? null,
    include: opts.include ?? [],
    exclude: opts.exclude ?? [],
  };
  if (opts.symlinks !== undefined) result.symlinks = opts.symlinks;
  const build = resolveClientBuild(opts.build, base, path);
  if (build) result.build = build;
  return result;
}

function resolveClientBuild(
  build: Exclude<ServeJson, string>["build"],
  base: string,
  servePath: string,
): ClientBuildOptions | undefined {
  if (build === undefined) return undefined;
  const opts = typeof build === "string" ? { entry: build } : build;
  // PartyKit runs no client build without an entry, whatever else is set.
  if (opts.entry === undefined) return undefined;
  const entries = typeof opts.entry === "string" ? [opts.entry] : opts.entry;
  if (entries.length === 0) return undefined;
  const format = opts.format ?? "esm";
  const result: ClientBuildOptions = {
    entryPoints: entries.map((e) => resolve(base, e)),
    outdir: opts.outdir === undefined ? resolve(servePath, "dist") : resolve(base, opts.outdir),
    bundle: opts.bundle ?? true,
    // esbuild only splits ESM; PartyKit's default of true would make an iife/cjs build fail.
    splitting: opts.splitting ?? format === "esm",
    format,
    sourcemap: opts.sourcemap ?? true,
    external: opts.external ?? [],
    alias: opts.alias ?? {},
    define: opts.define ?? {},
    loader: opts.loader ?? {},
    live: opts.live ?? false,
  };
  if (opts.minify !== undefined) result.minify = opts.minify;
  return result;
}
