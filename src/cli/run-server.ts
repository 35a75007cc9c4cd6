import { createAssetHandler } from "../assets/index.js";
import { createBundler } from "../bundler/index.js";
import type { ParsedCli } from "../config/cli-args.js";
import { errorMessage, PartyhouseError } from "../core/errors.js";
import { createLogger } from "../runtime/logger.js";
import { redactUrl } from "../storage/postgres-url.js";
import { bundlerLog, loadProjectConfig } from "./project.js";
import { startPartyhouse } from "../runtime/start.js";
import type { Partyhouse } from "../runtime/start.js";
import { setupAi } from "./ai-setup.js";
import { scheduleCrons } from "./crons.js";
import { importParties } from "./import-parties.js";

/**
 * `partyhouse dev` and `partyhouse start`: load and check the config, bundle the parties, start
 * the server, then (dev) reload on change or (start) wait for SIGTERM/SIGINT and stop cleanly.
 * This is the one place the program is wired together; it reads top to bottom.
 */
export async function runServer(cli: ParsedCli, mode: "dev" | "start"): Promise<Partyhouse> {
  const log = createLogger(mode === "start" ? "json" : "pretty", { verbose: cli.verbose });
  const config = await loadProjectConfig(cli, mode);
  for (const flag of cli.ignored) log.warn(`${flag} has no effect in partyhouse; ignored`);

  // Assigned once the server listens; rebuilds that land before then are ignored.
  // eslint-disable-next-line prefer-const
  let ph: Partyhouse | undefined;
  const bundler = await createBundler(config, {
    watch: mode === "dev",
    log: bundlerLog(log),
    onRebuild: (event) => {
      if (!ph) return;
      if (!event.ok) {
        log.error(
          "PH_ERR_BUNDLE",
          `rebuild failed; still serving the previous code\n${errorMessage(event.error)}`,
        );
        return;
      }
      const server = ph;
      importParties(event.result.parties)
        .then((parties) => {
          server.reload(parties);
          log.info("↻ reloaded: rooms restarted, storage kept");
        })
        .catch((e: unknown) =>
          log.error("PH_ERR_PARTY_EXPORT", `reload failed: ${errorMessage(e)}`),
        );
    },
  });

  const parties = await importParties(bundler.result.parties);
  const ai = await setupAi(config, process.env, log);
  const assets = config.serve
    ? createAssetHandler(config.serve, { dev: mode === "dev" })
    : undefined;
  ph = await startPartyhouse({
    parties,
    storage: config.persist,
    limits: config.limits,
    env: { ...config.vars },
    port: config.port,
    hostname: config.host,
    log,
    crons: { ...config.crons },
    ai: ai.binding,
    ...(assets
      ? {
          siteAssets: assets,
          notFoundPage: () => assets.fetchAsset("/404.html"),
          assets: { fetch: (path: string) => assets.fetchAsset(path) },
        }
      : {}),
  });
  const server = ph;
  const crons = scheduleCrons(config.crons, (name, expr) => server.runCron(name, expr), log);
  const { persist } = config;
  const where =
    persist.kind === "memory"
      ? "in memory"
      : persist.kind === "postgres"
        ? `in PostgreSQL ${redactUrl(persist.url)}`
        : persist.path;
  log.info(`partyhouse ${mode}: listening on ${ph.url} (storage ${where})`, {
    parties: Object.keys(config.parties),
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down (closing sockets with 1012, flushing storage)`);
    crons.stop();
    void Promise.all([server.close(), bundler.dispose(), ai.close()])
      .then(() => {
        log.info("stopped");
        process.exit(0);
      })
      .catch((e: unknown) => {
        log.error("PH_ERR_SHUTDOWN", `shutdown failed: ${errorMessage(e)}`);
        process.exit(1);
      });
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  return ph;
}

export function reportFatal(e: unknown): never {
  if (e instanceof PartyhouseError) {
    process.stderr.write(`✖ [${e.code}] ${e.message}\n`);
  } else {
    process.stderr.write(`✖ ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  process.exit(1);
}
