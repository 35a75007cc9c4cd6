/**
 * The pluginData our plugins pass to `build.resolve` when they ask esbuild's own resolver for a
 * path: every partyhouse onResolve hook ignores such a call, so none of them answers itself.
 */
export const INNER_RESOLVE: unique symbol = Symbol.for("partyhouse.inner-resolve") as never;
