/** The text of `partyhouse --help` and of each command's `--help`. */
import type { Command } from "../config/cli-args.js";

const RUN_FLAGS = `  -p, --port <n>          port (default 1999; start: PORT wins over the config)
  -c, --config <path>     config file (default partykit.json)
      --host <host>       interface to bind (dev 127.0.0.1, start HOST or 0.0.0.0)
      --persist [path]    storage directory; --persist false keeps data in memory
  -v, --var <k=v>         add a room env var (repeatable)
  -d, --define <k=v>      esbuild define (repeatable)
      --serve <dir>       serve static assets from <dir>
      --minify            minify the party bundles
      --verbose           log stack traces and debug lines (requests, connections, rooms)
`;

const PRODUCTION_FLAGS = `      --public-host <h>   PARTYKIT_HOST of client bundles (default: the page's own origin)
      --trust-proxy       take X-Forwarded-Proto/-Host into request.url
      --shutdown-grace <ms>  wait for sockets and in-flight requests on SIGTERM (default 5000)
      --https --https-key-path <key.pem> --https-cert-path <cert.pem>   serve TLS
      --admin-port <n>    admin listener (metrics, rooms, logs) on 127.0.0.1:<n>
      --admin-host <h>    bind it elsewhere (then PARTYHOUSE_ADMIN_TOKEN is required)
      --node-url <url>    cluster: this node's address for other nodes (PARTYHOUSE_NODE_URL)
      --cluster-secret <s>  cluster: shared secret for forwarding (PARTYHOUSE_CLUSTER_SECRET)
      --lease-ms <ms>     cluster: room ownership lease (PARTYHOUSE_LEASE_MS, default 10000)
      --workers <n|auto>  start: n worker processes behind the port (PARTYHOUSE_WORKERS)
      --max-memory <size> start: replace a worker whose RSS passes this, e.g. 1gb
`;

const ADMIN_FLAGS = `      --admin <url>       the server's admin listener (default PARTYHOUSE_ADMIN_URL, or
                          http://127.0.0.1:$PARTYHOUSE_ADMIN_PORT); PARTYHOUSE_ADMIN_TOKEN is sent
      --format pretty|json
`;

const COMMANDS: Record<Exclude<Command, "help" | "version">, string> = {
  dev: `partyhouse dev [entry] — develop: bundle, watch, reload (port 1999 on 127.0.0.1)

${RUN_FLAGS}`,
  start: `partyhouse start [entry] — production: JSON logs, graceful stop on SIGTERM/SIGINT.
Runs the build artifact (.partyhouse/, or --from <dir>) when there is one, else bundles the source.

${RUN_FLAGS}      --from <dir>        the artifact folder (default .partyhouse)
${PRODUCTION_FLAGS}
Environment: PORT, HOST, PARTYHOUSE_METRICS_TOKEN, PARTYHOUSE_CRON_TOKEN,
PARTYHOUSE_SHUTDOWN_GRACE_MS, PARTYHOUSE_TRUST_PROXY=1, PARTYHOUSE_PUBLIC_HOST
`,
  build: `partyhouse build [entry] — write the build artifact partyhouse start runs

${RUN_FLAGS}      --out <dir>         where the artifact goes (default .partyhouse)
      --public-host <h>   PARTYKIT_HOST of client bundles (default: the page's own origin)
`,
  list: `partyhouse list — the rooms of a running server (needs its --admin-port)

      --party <name>      only this party
      --room <id>         only this room
${ADMIN_FLAGS}`,
  info: `partyhouse info <party> <room> — one room's connections and storage keys (read-only)

${ADMIN_FLAGS}`,
  tail: `partyhouse tail — stream a running server's log lines (needs its --admin-port)

      --party <name>      only lines of this party
      --room <id>         only lines of this room
      --level <level>     lowest level shown: debug, info (default), warn, error
${ADMIN_FLAGS}`,
  init: `partyhouse init [name] — scaffold a chat party and a page, or add partyhouse to the
package.json in this folder (merged; existing files are kept), then npm install

      --no-install        write the files only
      --dry-run           print what would be written
  -y, --yes               accepted (init never asks)
`,
};

/** Help for one command, or the overview. */
export function helpText(command: Command): string {
  if (command === "help" || command === "version") return OVERVIEW;
  return COMMANDS[command];
}

const OVERVIEW = `partyhouse — run PartyKit projects on your own machines

Usage:
  partyhouse dev [entry]     develop: bundle, watch, reload (port 1999, 127.0.0.1)
  partyhouse build [entry]   write the production artifact (.partyhouse/)
  partyhouse start [entry]   production: run the artifact (or the source), JSON logs
  partyhouse init [name]     scaffold a project, or add partyhouse to this one
  partyhouse list            the rooms of a running server (over its admin listener)
  partyhouse info <p> <r>    one room's connections and storage keys
  partyhouse tail            stream a running server's logs
  partyhouse -v, --version   print the version

partyhouse <command> --help shows the flags of a command.
`;
