/**
 * The compile-time constants PartyKit defines in a project's bundles, so code written for
 * `partykit dev` finds them: PARTYKIT_HOST (host:port of the server, used by client code to
 * reach rooms) and, in server bundles, PARTYKIT_PROCESS_ENV (the .env variables as JSON text).
 * The config's `define` is layered on top, so a project can override any of them.
 */
import { pathToFileURL } from "node:url";
import type { ResolvedConfig } from "../config/types.js";

/** `host:port` as a browser on this machine reaches the server; PartyKit dev uses 127.0.0.1. */
export function defaultPartykitHost(config: ResolvedConfig): string {
  const wildcard = config.host === "0.0.0.0" || config.host === "::" || config.host === "";
  const host = wildcard
    ? "127.0.0.1"
    : config.host.includes(":")
      ? `[${config.host}]`
      : config.host;
  return `${host}:${config.port}`;
}

/** Defines of a party (server) bundle. */
export function serverDefines(
  config: ResolvedConfig,
  partykitHost: string,
): Record<string, string> {
  const hasEnv = Object.keys(config.dotenv).length > 0;
  return {
    PARTYKIT_HOST: JSON.stringify(partykitHost),
    ...(hasEnv ? { PARTYKIT_PROCESS_ENV: JSON.stringify(JSON.stringify(config.dotenv)) } : {}),
    ...config.define,
  };
}

/**
 * Defines of the `serve.build` client bundle: the build's own `define` wins. `partykitHost` is a
 * define value already (a JSON string, or an expression such as `location.host`).
 */
export function clientDefines(
  config: ResolvedConfig,
  partykitHost: string,
): Record<string, string> {
  return {
    PARTYKIT_HOST: partykitHost,
    ...config.define,
    ...config.serve?.build?.define,
  };
}

/**
 * Code run first in every party bundle. `globalsEntry` installs the workerd globals PartyKit code
 * expects (WebSocketPair, a Response that takes status 101 and `webSocket`). `require` lets bundled CommonJS call `require()` on
 * external packages (esbuild's ESM output otherwise throws "Dynamic require ... not supported";
 * esbuild renames any user-level `require` binding, so this cannot clash). The .env variables
 * are copied into `process.env` as PartyKit's runtime does, except that a variable already set in
 * the real environment keeps its value: on a server, the operator's environment wins.
 */
export function serverBanner(config: ResolvedConfig, globalsEntry?: string): string {
  const lines = [
    `import { createRequire as __partyhouseCreateRequire } from "node:module";`,
    `const require = __partyhouseCreateRequire(import.meta.url);`,
  ];
  // First, so that the party's own imports (evaluated after it) already see WebSocketPair.
  if (globalsEntry !== undefined)
    lines.unshift(`import ${JSON.stringify(pathToFileURL(globalsEntry).href)};`);
  if (Object.keys(config.dotenv).length > 0) {
    lines.push(
      `for (const [k, v] of Object.entries(${JSON.stringify(config.dotenv)})) if (process.env[k] === undefined) process.env[k] = v;`,
    );
  }
  return lines.join("\n");
}
