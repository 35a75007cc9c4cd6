import type { ErrorCode } from "../core/errors.js";
import type { Logger } from "../core/log.js";

export type LogFormat = "pretty" | "json";

/**
 * The process logger. `json` (production, `partyhouse start`) writes one object per line with
 * level, code and fields, stack traces included; `pretty` (dev) writes readable lines to stderr.
 */
export function createLogger(
  format: LogFormat,
  options: { verbose?: boolean; write?: (line: string) => void } = {},
): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const verbose = options.verbose === true;
  if (format === "json") {
    const emit = (
      level: string,
      message: string,
      fields?: Record<string, unknown>,
      code?: ErrorCode,
    ) =>
      write(
        JSON.stringify({
          time: new Date().toISOString(),
          level,
          ...(code ? { code } : {}),
          message,
          ...fields,
        }),
      );
    return {
      error: (code, message, fields) => emit("error", message, fields, code),
      warn: (message, fields) => emit("warn", message, fields),
      info: (message, fields) => emit("info", message, fields),
      debug: (message, fields) => {
        if (verbose) emit("debug", message, fields);
      },
    };
  }
  const tail = (fields?: Record<string, unknown>) => {
    if (!fields) return "";
    const { stack, ...rest } = fields;
    const kv = Object.entries(rest)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    return (kv ? ` (${kv})` : "") + (verbose && typeof stack === "string" ? `\n${stack}` : "");
  };
  return {
    error: (code, message, fields) => write(`✖ [${code}] ${message}${tail(fields)}`),
    warn: (message, fields) => write(`⚠ ${message}${tail(fields)}`),
    info: (message, fields) => write(`${message}${tail(fields)}`),
    debug: (message, fields) => {
      if (verbose) write(`· ${message}${tail(fields)}`);
    },
  };
}
