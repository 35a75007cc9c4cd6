/**
 * Starting an esbuild context: in watch mode `watch()` runs the first build itself, so calling
 * `rebuild()` before it would build twice. Both modes therefore take their first result from the
 * first `onEnd`, and every later `onEnd` is a rebuild.
 */
import type { BuildContext, BuildResult, Plugin } from "esbuild";

/**
 * An onEnd hook: every build's result goes through `process` (which must not throw); the first
 * processed value is what `first()` resolves to, later ones go to `onLater`.
 */
export function firstBuildHook<T>(
  name: string,
  process: (result: BuildResult) => Promise<T> | T,
  onLater: (value: T) => void,
): { plugin: Plugin; first(ctx: BuildContext, watch: boolean): Promise<T> } {
  let seen = false;
  let settle!: (value: T) => void;
  const firstValue = new Promise<T>((resolve) => (settle = resolve));
  return {
    plugin: {
      name,
      setup(build) {
        build.onEnd(async (result) => {
          const isFirst = !seen;
          seen = true;
          const value = await process(result);
          if (isFirst) settle(value);
          else onLater(value);
        });
      },
    },
    first(ctx, watch) {
      // A build with errors makes rebuild() reject after onEnd ran; the processed result carries
      // them. A rejection with no build at all (esbuild itself failed) is passed on.
      const start = watch ? ctx.watch() : ctx.rebuild();
      return start.then(
        () => firstValue,
        (e: unknown) => (seen ? firstValue : Promise.reject(e)),
      );
    },
  };
}
