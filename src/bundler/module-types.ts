/**
 * PartyKit's non-JavaScript modules, which workerd loads natively: `.wasm` (also `.wasm?module`)
 * imports as a compiled `WebAssembly.Module`, `.bin` as an `ArrayBuffer`, `.txt` as a string.
 * Node has no such module types, so the bytes are inlined into the party bundle and turned into
 * the same values there; the bundle stays one self-contained file (what `partyhouse build` ships).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import type { ImportKind, Loader, Plugin } from "esbuild";
import { INNER_RESOLVE } from "./inner-resolve.js";

const WASM = /\.wasm(\?module)?$/;
const BIN = /\.bin$/;
const NS_WASM = "partyhouse-wasm";
const NS_BIN = "partyhouse-bin";
const NS_BYTES = "partyhouse-bytes";

/** The text loader PartyKit's bundler (esbuild's defaults) gives `.txt` files. */
export const moduleTypeLoaders: Readonly<Record<string, Loader>> = Object.freeze({
  ".txt": "text",
});

/** An esbuild plugin giving `.wasm` and `.bin` imports the values workerd gives them. */
export function moduleTypesPlugin(): Plugin {
  return {
    name: "partyhouse-module-types",
    setup(build) {
      const locate = async (path: string, resolveDir: string, kind: ImportKind) => {
        if (isAbsolute(path) || path.startsWith("./") || path.startsWith("../")) {
          const file = isAbsolute(path) ? path : join(resolveDir, path);
          if (existsSync(file)) return { path: file };
          return { errors: [{ text: `Could not resolve "${path}": there is no file ${file}` }] };
        }
        // A package path (`some-pkg/lib.wasm`): esbuild's resolver finds the file.
        const r = await build.resolve(path, { kind, resolveDir, pluginData: INNER_RESOLVE });
        return r.errors.length > 0 ? { errors: r.errors } : { path: r.path };
      };
      const hook = (namespace: string, strip: RegExp | null) => {
        return async (args: Parameters<Parameters<typeof build.onResolve>[1]>[0]) => {
          // Our own wrappers' imports (other namespaces) are answered below.
          if (args.pluginData === INNER_RESOLVE || args.namespace !== "file") return undefined;
          const spec = strip ? args.path.replace(strip, "") : args.path;
          const found = await locate(spec, args.resolveDir, args.kind);
          if ("errors" in found) return { errors: found.errors };
          return { path: found.path, namespace };
        };
      };
      build.onResolve({ filter: WASM }, hook(NS_WASM, /\?module$/));
      build.onResolve({ filter: BIN }, hook(NS_BIN, null));

      // The wrapper module imports the raw bytes from a namespace of its own (esbuild's binary
      // loader: a Uint8Array decoded once when the bundle loads).
      build.onLoad({ filter: /.*/, namespace: NS_WASM }, (args) => ({
        contents:
          `import bytes from ${JSON.stringify(args.path)};\n` +
          `export default new WebAssembly.Module(bytes);\n`,
        loader: "js",
      }));
      build.onLoad({ filter: /.*/, namespace: NS_BIN }, (args) => ({
        contents:
          `import bytes from ${JSON.stringify(args.path)};\n` +
          `export default bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);\n`,
        loader: "js",
      }));
      build.onResolve({ filter: /.*/, namespace: NS_WASM }, (args) => ({
        path: args.path,
        namespace: NS_BYTES,
      }));
      build.onResolve({ filter: /.*/, namespace: NS_BIN }, (args) => ({
        path: args.path,
        namespace: NS_BYTES,
      }));
      build.onLoad({ filter: /.*/, namespace: NS_BYTES }, async (args) => ({
        contents: await readFile(args.path),
        loader: "binary",
        // Files outside the "file" namespace are not watched unless named here.
        watchFiles: [args.path],
      }));
    },
  };
}
