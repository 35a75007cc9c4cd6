/** esbuild diagnostics turned into one PartyhouseError whose message reads like esbuild's output. */
import { formatMessagesSync } from "esbuild";
import type { Message } from "esbuild";
import { PartyhouseError, errorMessage } from "../core/errors.js";

/** Wraps esbuild errors (from a result or a thrown BuildFailure) as PH_ERR_BUNDLE. */
export function bundleError(
  what: string,
  errors: readonly Message[],
  cause?: unknown,
): PartyhouseError {
  const formatted = formatMessagesSync([...errors], { kind: "error", color: false })
    .join("")
    .trimEnd();
  const count = errors.length === 1 ? "1 error" : `${errors.length} errors`;
  return new PartyhouseError(
    "PH_ERR_BUNDLE",
    `Could not bundle ${what} (${count}):\n${formatted}`,
    {
      cause,
    },
  );
}

/** Turns anything esbuild threw into PH_ERR_BUNDLE, keeping its diagnostics when it has them. */
export function toBundleError(what: string, e: unknown): PartyhouseError {
  if (e instanceof PartyhouseError) return e;
  const errors = (e as { errors?: Message[] } | null)?.errors;
  if (Array.isArray(errors) && errors.length > 0) return bundleError(what, errors, e);
  return new PartyhouseError("PH_ERR_BUNDLE", `Could not bundle ${what}: ${errorMessage(e)}`, {
    cause: e,
  });
}
