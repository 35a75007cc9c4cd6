import { readFileSync } from "node:fs";
import { parseCliArgs } from "../config/cli-args.js";
import { runInit } from "./init.js";
import { reportFatal, runServer } from "./run-server.js";
import { runBuild } from "./build.js";

const HELP = `partyhouse — run PartyKit projects on your own machines

Usage:
  partyhouse dev [entry]     develop: bundle, watch, reload (port 1999, 127.0.0.1)
  partyhouse start [entry]   production: no watch, JSON logs, PORT/HOST from the environment
  partyhouse build [entry]   bundle the parties (and serve.build) without serving
  partyhouse init [name]     scaffold a chat party and a page

  partyhouse -v, --version   print the version

Flags (dev/start/build):
  -p, --port <n>          port (default 1999)
  -c, --config <path>     config file (default partykit.json)
      --host <host>       interface to bind (dev default 127.0.0.1)
      --persist [path]    storage directory; --persist false keeps data in memory
  -v, --var <k=v>         add a room env var (repeatable)
  -d, --define <k=v>      esbuild define (repeatable)
      --serve <dir>       serve static assets from <dir>
      --verbose           log stack traces and debug lines (requests, connections)
      --minify            minify the party bundles

Production (start/build; see README "Deploying"):
      --out <dir>         build: where the artifact goes (default .partyhouse)
      --from <dir>        start: run this artifact (default .partyhouse when it exists)
      --public-host <h>   PARTYKIT_HOST of client bundles (default: the page's own origin)
      --trust-proxy       take X-Forwarded-Proto/-Host into request.url
      --shutdown-grace <ms>  wait for in-flight requests and sockets (default 5000)
      --https --https-key-path <key.pem> --https-cert-path <cert.pem>   serve TLS
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

async function main(): Promise<void> {
  // Party bundles carry inline source maps: stack traces then name the project's source files.
  process.setSourceMapsEnabled(true);
  const cli = parseCliArgs(process.argv.slice(2));
  if (cli.command === "help" || cli.help) {
    process.stdout.write(HELP);
    return;
  }
  if (cli.command === "version") {
    process.stdout.write(`${version()}\n`);
    return;
  }
  if (cli.command === "init") {
    await runInit(cli);
    return;
  }
  if (cli.command === "build") {
    await runBuild(cli);
    return;
  }
  await runServer(cli, cli.command);
}

main().catch(reportFatal);
