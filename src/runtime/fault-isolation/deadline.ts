import { PartyhouseError } from "../../core/errors.js";

/**
 * Fails `value` (when it is a promise) if it has not settled within `ms`, calling `onTimeout`
 * first. The user's promise is left to settle whenever it likes; nothing waits for it any more.
 */
export function withDeadline<T>(
  value: T,
  ms: number,
  what: string,
  onTimeout: (error: PartyhouseError) => void,
): T {
  if (!(value instanceof Promise)) return value;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new PartyhouseError("PH_ERR_TIMEOUT", `${what} did not settle within ${ms} ms`);
      onTimeout(error);
      reject(error);
    }, ms);
    (timer as { unref?: () => void }).unref?.();
    value.then(
      (v: unknown) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  }) as T;
}
