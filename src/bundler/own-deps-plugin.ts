/**
 * partyhouse ships the client libraries its pages need (`partysocket`). A project that installed
 * partyhouse from a checkout (`file:`, a symlink) has no copy of them in its own node_modules, so
 * a client entry importing `partysocket` would fail to bundle. This plugin resolves such an import
 * from the project first and, only when that fails, from partyhouse's own dependencies.
 */
import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";

const OWN_CLIENT_DEPS = /^partysocket(\/.*)?$/;
/** Set on the nested resolve so the plugin does not see its own call. */
const NESTED = Symbol.for("partyhouse.own-deps");

/** partyhouse's package folder (this module is `dist/bundler/own-deps-plugin.js`). */
const ownRoot = fileURLToPath(new URL("../../", import.meta.url));

/** An esbuild plugin: `partysocket` from the project, else from partyhouse. */
export function ownClientDepsPlugin(): Plugin {
  return {
    name: "partyhouse-own-client-deps",
    setup(build) {
      build.onResolve({ filter: OWN_CLIENT_DEPS }, async (args) => {
        if (args.pluginData === NESTED) return undefined;
        const opts = { kind: args.kind, importer: args.importer, pluginData: NESTED };
        const fromProject = await build.resolve(args.path, {
          ...opts,
          resolveDir: args.resolveDir,
        });
        if (fromProject.errors.length === 0) return fromProject;
        const fromUs = await build.resolve(args.path, { ...opts, resolveDir: ownRoot });
        return fromUs.errors.length === 0 ? fromUs : fromProject;
      });
    },
  };
}
