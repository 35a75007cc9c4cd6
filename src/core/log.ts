import type { ErrorCode } from "./errors.js";

/** The logger the core writes to; the CLI supplies a pretty one (dev) or a JSON one (start). */
export interface Logger {
  error(code: ErrorCode, message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything, for embedding and tests that do not care. */
export const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
};
