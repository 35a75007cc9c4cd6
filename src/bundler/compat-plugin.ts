/**
 * Points `partykit/server` (and `party.io` when the project has no build of its own) at
 * partyhouse. The imports stay external (a file: URL) rather than bundled, so every party shares
 * the one compat module the server itself loaded: classes and module state are the same objects
 * on both sides.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Plugin } from "esbuild";
import { INNER_RESOLVE } from "./inner-resolve.js";

/** `partykit/server`, with or without the `.js` some projects write. */
const COMPAT_SPECIFIER = /^partykit\/server(\.js)?$/;
/** PartyKit's Socket.IO package; it was never published to npm (PartyKit builds it in-tree). */
const PARTY_IO = /^party\.io$/;

/**
 * A built module of partyhouse's `dist/compat/` by base name: this module runs from
 * `dist/bundler/`. When partyhouse itself runs from source (tsx), the `.ts` sibling is used.
 */
export function compatFile(base: string): string {
  const js = fileURLToPath(new URL(`../compat/${base}.js`, import.meta.url));
  if (existsSync(js)) return js;
  const ts = fileURLToPath(new URL(`../compat/${base}.ts`, import.meta.url));
  return existsSync(ts) ? ts : js;
}

/** The built compat entry `partykit/server` resolves to. */
export function defaultCompatEntry(): string {
  return compatFile("partykit-server");
}

function externalFile(specifier: string, file: string, inline = false) {
  if (!existsSync(file)) {
    return {
      errors: [
        {
          text:
            `"${specifier}" resolves to partyhouse's compatibility entry ${file}, which does not exist. ` +
            `Reinstall partyhouse (or run "npm run build" in a partyhouse checkout).`,
        },
      ],
    };
  }
  // Inlined, the output names no path of this machine (a portable build artifact).
  if (inline) return { path: file };
  return { path: pathToFileURL(file).href, external: true };
}

/**
 * An esbuild plugin resolving `partykit/server` to `compatEntry` (an absolute file path), and
 * `party.io` to a build the project has (bundled, as PartyKit does: its dist is ESM without
 * `"type": "module"`, which Node would not load) or else to partyhouse's Party.IO layer. With
 * `inline`, `partykit/server` is bundled (it has no runtime exports, so nothing is added).
 */
export function partykitCompatPlugin(
  compatEntry: string,
  options: { inline?: boolean; partyIoEntry?: string } = {},
): Plugin {
  const partyIoEntry = options.partyIoEntry ?? compatFile("party-io");
  return {
    name: "partyhouse-partykit-compat",
    setup(build) {
      build.onResolve({ filter: COMPAT_SPECIFIER }, (args) =>
        externalFile(args.path, compatEntry, options.inline === true),
      );
      build.onResolve({ filter: PARTY_IO }, async (args) => {
        if (args.pluginData === INNER_RESOLVE) return undefined;
        const own = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: INNER_RESOLVE,
        });
        if (own.errors.length === 0 && own.path !== "" && !own.external) return { path: own.path };
        return externalFile(args.path, partyIoEntry);
      });
    },
  };
}
