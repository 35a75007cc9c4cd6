/**
 * Points `partykit/server` at partyhouse. The import stays external (a file: URL) rather than
 * bundled, so every party shares the one compat module the server itself loaded: classes and
 * module state are the same objects on both sides.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Plugin } from "esbuild";

/** `partykit/server`, with or without the `.js` some projects write. */
const COMPAT_SPECIFIER = /^partykit\/server(\.js)?$/;

/**
 * The built compat entry: this module runs from `dist/bundler/`, the entry is
 * `dist/compat/partykit-server.js`. When partyhouse itself runs from source (tsx), the `.ts`
 * sibling is used instead.
 */
export function defaultCompatEntry(): string {
  const js = fileURLToPath(new URL("../compat/partykit-server.js", import.meta.url));
  if (existsSync(js)) return js;
  const ts = fileURLToPath(new URL("../compat/partykit-server.ts", import.meta.url));
  return existsSync(ts) ? ts : js;
}

/**
 * An esbuild plugin resolving `partykit/server` to `compatEntry` (an absolute file path). With
 * `inline` the entry is bundled (it has no runtime exports, so nothing is added) and the output
 * names no path of this machine.
 */
export function partykitCompatPlugin(compatEntry: string, inline = false): Plugin {
  return {
    name: "partyhouse-partykit-compat",
    setup(build) {
      build.onResolve({ filter: COMPAT_SPECIFIER }, (args) => {
        if (!existsSync(compatEntry)) {
          return {
            errors: [
              {
                text:
                  `"${args.path}" resolves to partyhouse's compatibility entry ${compatEntry}, which does not exist. ` +
                  `Reinstall partyhouse (or run "npm run build" in a partyhouse checkout).`,
              },
            ],
          };
        }
        if (inline) return { path: compatEntry };
        return { path: pathToFileURL(compatEntry).href, external: true };
      });
    },
  };
}
