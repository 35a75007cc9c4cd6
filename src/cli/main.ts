import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { parseCliArgs } from "../config/cli-args.js";
import { runInit } from "./init.js";
import { reportFatal, runServer } from "./run-server.js";
import { runBuild } from "./build.js";
import { helpText } from "./help.js";
import { runInfo, runList, runTail } from "./admin-client.js";
import { PartyhouseError } from "../core/errors.js";
import { createLogger } from "../runtime/logger.js";
import { maxMemoryBytes, shutdownGrace, stuckThreshold, workerCount } from "./server-flags.js";
import { runSupervisor } from "./workers/supervisor.js";

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
    process.stdout.write(helpText(cli.command));
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
  if (cli.command === "list") return runList(cli);
  if (cli.command === "info") return runInfo(cli);
  if (cli.command === "tail") return runTail(cli);
  if (cli.command === "build") {
    await runBuild(cli);
    return;
  }
  const workers = workerCount(cli.server);
  if (workers !== undefined && cli.command === "dev") {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      "--workers and --max-memory are for `partyhouse start`; dev runs one process (it reloads on change)",
    );
  }
  if (workers !== undefined && cluster.isPrimary) {
    const maxMemory = maxMemoryBytes(cli.server);
    runSupervisor({
      count: workers,
      log: createLogger("json", { verbose: cli.verbose }),
      stuckMs: stuckThreshold(),
      graceMs: shutdownGrace(cli.server),
      ...(maxMemory !== undefined ? { maxMemory } : {}),
    });
    return;
  }
  await runServer(cli, cli.command);
}

main().catch(reportFatal);
