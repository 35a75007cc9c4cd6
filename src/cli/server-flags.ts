/**
 * The process-level settings of dev/start/build, each a flag with an environment variable:
 *
 * | flag | variable | default |
 * | --- | --- | --- |
 * | `--shutdown-grace <ms>` | `PARTYHOUSE_SHUTDOWN_GRACE_MS` | 5000 |
 * | `--public-host <host>` | `PARTYHOUSE_PUBLIC_HOST` | pages dial their own origin (`location.host`) |
 * | `--trust-proxy` | `PARTYHOUSE_TRUST_PROXY=1` | off |
 * | — | `PARTYHOUSE_METRICS_TOKEN` | metrics in start: loopback only |
 * | — | `PARTYHOUSE_CRON_TOKEN` | `/__scheduled__` in start: loopback only |
 * | `--admin-port <n>` | `PARTYHOUSE_ADMIN_PORT` | no admin listener |
 * | `--admin-host <h>` | `PARTYHOUSE_ADMIN_HOST` | 127.0.0.1 (elsewhere needs `PARTYHOUSE_ADMIN_TOKEN`) |
 * | — | `PARTYHOUSE_ADMIN_SAMPLE_MS` | 5000: the admin page's chart resolution |
 * | — | `PARTYHOUSE_BLOCKED_MS` | 1000: log a handler blocking the event loop longer (0: off) |
 * | `--workers <n\|auto>` | `PARTYHOUSE_WORKERS` | one process, no supervisor |
 * | `--max-memory <size>` | `PARTYHOUSE_MAX_MEMORY` | no ceiling |
 * | — | `PARTYHOUSE_STUCK_MS` | 5000: a worker whose event loop is stuck longer is replaced |
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { NodeServerHooks } from "../adapters/node/server.js";
import type { BundlerOptions } from "../bundler/index.js";
import type { ParsedCli, ServerFlags } from "../config/cli-args.js";
import { errorMessage, PartyhouseError } from "../core/errors.js";

/** Default of `--shutdown-grace` / PARTYHOUSE_SHUTDOWN_GRACE_MS. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 5000;

const env = (name: string): string | undefined => process.env[name] || undefined;

export const adminToken = (): string | undefined => env("PARTYHOUSE_ADMIN_TOKEN");
/** The admin token opens the main port's operator endpoints too, unless they have their own. */
export const metricsToken = (): string | undefined =>
  env("PARTYHOUSE_METRICS_TOKEN") ?? adminToken();
export const cronToken = (): string | undefined => env("PARTYHOUSE_CRON_TOKEN") ?? adminToken();

/** A port from the environment, or undefined when unset. Throws PH_ERR_CONFIG when bad. */
export function envPort(name: string): number | undefined {
  const text = env(name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `${name} must be a port from 0 to 65535, got "${text}"`,
    );
  }
  return Number(text);
}

/** Milliseconds from the environment, or `fallback` when unset. Throws PH_ERR_CONFIG when bad. */
export function envMs(name: string, fallback: number): number {
  const text = env(name);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `${name} must be milliseconds (an integer), got "${text}"`,
    );
  }
  return Number(text);
}

/** The event-loop watchdog's threshold (ms, 0 = off). */
export const blockedThreshold = (): number => envMs("PARTYHOUSE_BLOCKED_MS", 1000);

/** How long shutdown waits for sockets and in-flight requests (ms). */
export function shutdownGrace(flags: ServerFlags): number {
  if (flags.shutdownGraceMs !== undefined) return flags.shutdownGraceMs;
  const text = env("PARTYHOUSE_SHUTDOWN_GRACE_MS");
  if (text === undefined) return DEFAULT_SHUTDOWN_GRACE_MS;
  if (!/^\d+$/.test(text)) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `PARTYHOUSE_SHUTDOWN_GRACE_MS must be milliseconds (an integer), got "${text}"`,
    );
  }
  return Number(text);
}

/**
 * PARTYKIT_HOST for the bundles. In dev, PartyKit's `127.0.0.1:<port>`. For production (build,
 * start) client code gets the page's own origin (`location.host`) unless a public host is set;
 * party code gets the public host when set, else the loopback address of this server.
 */
export function hostDefines(
  cli: ParsedCli,
  mode: "dev" | "start",
): Pick<BundlerOptions, "partykitHost" | "clientPartykitHost"> {
  const publicHost = cli.server.publicHost ?? env("PARTYHOUSE_PUBLIC_HOST");
  if (publicHost !== undefined) {
    return { partykitHost: publicHost, clientPartykitHost: JSON.stringify(publicHost) };
  }
  return mode === "start" ? { clientPartykitHost: "location.host" } : {};
}

/** `--https` with its key and certificate read, or undefined. Throws PH_ERR_HTTPS. */
export function readTls(flags: ServerFlags): NodeServerHooks["tls"] {
  const wanted =
    flags.https || flags.httpsKeyPath !== undefined || flags.httpsCertPath !== undefined;
  if (!wanted) return undefined;
  if (flags.httpsKeyPath === undefined || flags.httpsCertPath === undefined) {
    throw new PartyhouseError(
      "PH_ERR_HTTPS",
      "--https needs --https-key-path <key.pem> and --https-cert-path <cert.pem> (partyhouse does not make a certificate for you)",
    );
  }
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new PartyhouseError(
        "PH_ERR_HTTPS",
        `cannot read the TLS ${what} ${path}: ${errorMessage(e)}`,
      );
    }
  };
  return { key: read("key", flags.httpsKeyPath), cert: read("certificate", flags.httpsCertPath) };
}

/**
 * `--workers` / PARTYHOUSE_WORKERS: how many worker processes `start` runs behind its port
 * (`auto`: one per core), or undefined for one plain process. `--max-memory` alone implies one
 * worker, since only a supervisor can restart a process. Throws PH_ERR_CONFIG when bad.
 */
export function workerCount(flags: ServerFlags): number | undefined {
  const text = flags.workers ?? env("PARTYHOUSE_WORKERS");
  if (text === undefined) return maxMemoryBytes(flags) === undefined ? undefined : 1;
  if (text === "auto") return availableParallelism();
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 256) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `--workers (PARTYHOUSE_WORKERS) must be a number of processes from 1 to 256, or "auto" (one per core), got "${text}"`,
    );
  }
  return Number(text);
}

const SIZE_UNITS: Record<string, number> = { "": 2 ** 20, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };

/**
 * `--max-memory` / PARTYHOUSE_MAX_MEMORY in bytes: `512` (MiB), `512m`, `512mb`, `2g`, `1.5gb`.
 * Undefined when unset. Throws PH_ERR_CONFIG when bad or below 64 MiB (a worker needs that much).
 */
export function maxMemoryBytes(flags: ServerFlags): number | undefined {
  const text = flags.maxMemory ?? env("PARTYHOUSE_MAX_MEMORY");
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = m ? Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!(bytes >= 64 * 2 ** 20)) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `--max-memory (PARTYHOUSE_MAX_MEMORY) must be a size of at least 64 MiB, like 512mb or 2gb, got "${text}"`,
    );
  }
  return Math.floor(bytes);
}

/** PARTYHOUSE_STUCK_MS: how long a worker may not run its event loop before it is replaced. */
export const stuckThreshold = (): number => {
  const ms = envMs("PARTYHOUSE_STUCK_MS", 5000);
  if (ms < 200) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `PARTYHOUSE_STUCK_MS must be at least 200 ms, got ${ms}`,
    );
  }
  return ms;
};
