/**
 * Static assets (`serve`), with PartyKit's semantics: GET and HEAD only, `/` and trailing slashes
 * name index.html, the single-page-app fallback for navigations, and `null` (not a 404) when no
 * file matches, so the caller can go on to `onFetch` or its own 404 page.
 */
import { createReadStream } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import { join, relative as relativeTo } from "node:path";
import type { Stats } from "node:fs";
import { Readable } from "node:stream";
import type { ServeConfig } from "../config/types.js";
import { contentTypeFor } from "./content-type.js";
import { createPathFilter } from "./glob.js";
import { assetPathFromUrl, fileInRoot, realFileInRoot } from "./safe-path.js";
import { isNavigation, spaFallsBack } from "./spa.js";

/** Files up to this size are read in one call; larger ones are streamed. */
const STREAM_THRESHOLD = 256 * 1024;

export interface AssetHandler {
  /** The asset a request names, or null when it names none (or is not GET/HEAD). */
  fetch(request: Request): Promise<Response | null>;
  /**
   * An asset by path, for `room.context.assets.fetch("/404.html")`: a plain GET, no SPA
   * fallback. Like PartyKit, throws when the path does not start with `/`.
   */
  fetchAsset(path: string): Promise<Response | null>;
}

interface Found {
  file: string;
  stats: Stats;
}

/**
 * Serves files from `serve.path`. With `dev`, responses say `Cache-Control: no-cache` so edits
 * show on reload; otherwise `browserTTL`/`edgeTTL` become `max-age`/`s-maxage`. Every response
 * carries an ETag and honours `If-None-Match`.
 *
 * @example
 * const assets = createAssetHandler(config.serve, { dev: true });
 * const response = (await assets.fetch(request)) ?? new Response("Not found", { status: 404 });
 */
export function createAssetHandler(
  serve: ServeConfig | undefined,
  opts: { dev: boolean },
): AssetHandler {
  if (!serve) {
    return {
      fetch: async () => null,
      fetchAsset: async (path) => {
        checkAssetPath(path);
        return null;
      },
    };
  }
  const allowed = createPathFilter(serve.include, serve.exclude);
  const cacheControl = opts.dev ? "no-cache" : productionCacheControl(serve);

  const find = async (relative: string): Promise<Found | null> => {
    if (!allowed(relative)) return null;
    const named = fileInRoot(serve.path, relative);
    if (named === null) return null;
    try {
      // A symlink inside the folder may point anywhere (/etc/passwd, the project's .env): what is
      // served is the file it resolves to, and that must be a servable file inside the folder.
      const root = await realpath(serve.path);
      const real = await realpath(named);
      // "refuse": the file must be exactly where its name says, below the (resolved) root.
      if (serve.symlinks === "refuse" && real !== join(root, relativeTo(serve.path, named))) {
        return null;
      }
      const file = realFileInRoot(root, real);
      if (file === null) return null;
      const stats = await stat(file);
      return stats.isFile() ? { file, stats } : null;
    } catch {
      return null; // missing, or a path through a file (ENOTDIR): no such asset
    }
  };

  const handle = async (request: Request): Promise<Response | null> => {
    if (request.method !== "GET" && request.method !== "HEAD") return null;
    const relative = assetPathFromUrl(new URL(request.url).pathname);
    if (relative === null) return null;
    let found = await find(relative);
    if (!found && serve.singlePageApp && isNavigation(request) && spaFallsBack(relative)) {
      found = await find("index.html");
    }
    if (!found) return null;
    return respond(request, found, cacheControl);
  };

  return {
    fetch: handle,
    async fetchAsset(path) {
      checkAssetPath(path);
      return handle(new Request(new URL(path, "http://assets.invalid")));
    },
  };
}

function checkAssetPath(path: string): void {
  if (!path.startsWith("/")) throw new Error(`Asset path must start with "/", got "${path}"`);
}

function productionCacheControl(serve: ServeConfig): string {
  const parts = ["public"];
  // Without a TTL the browser must revalidate (cheap with the ETag), so a deploy shows at once.
  parts.push(
    serve.browserTTL === null
      ? "max-age=0, must-revalidate"
      : `max-age=${Math.floor(serve.browserTTL)}`,
  );
  // edgeTTL was Cloudflare's edge cache; here it tells any shared cache in front of us.
  if (serve.edgeTTL !== null) parts.push(`s-maxage=${Math.floor(serve.edgeTTL)}`);
  return parts.join(", ");
}

function etagOf(stats: Stats): string {
  return `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
}

function matchesEtag(header: string | null, etag: string): boolean {
  if (header === null) return false;
  const weak = (t: string) => t.trim().replace(/^W\//, "");
  return header.split(",").some((t) => t.trim() === "*" || weak(t) === weak(etag));
}

async function respond(request: Request, found: Found, cacheControl: string): Promise<Response> {
  const { file, stats } = found;
  const etag = etagOf(stats);
  const headers = new Headers({
    // As partykit dev's asset server (esbuild's) does: public files may be fetched from any
    // origin, say a page on another dev server.
    "Access-Control-Allow-Origin": "*",
    "Cache-Control": cacheControl,
    ETag: etag,
    "Last-Modified": stats.mtime.toUTCString(),
  });
  if (matchesEtag(request.headers.get("if-none-match"), etag)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set("Content-Type", contentTypeFor(file));
  headers.set("Content-Length", String(stats.size));
  if (request.method === "HEAD") return new Response(null, { status: 200, headers });
  if (stats.size > STREAM_THRESHOLD) {
    const stream = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
    return new Response(stream, { status: 200, headers });
  }
  const bytes = new Uint8Array(await readFile(file));
  // The file may have changed since stat; the length must describe what is sent.
  headers.set("Content-Length", String(bytes.byteLength));
  return new Response(bytes, { status: 200, headers });
}
