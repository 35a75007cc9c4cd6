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
 */
import { readFileSync } from "node:fs";
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
