import { createAssetHandler } from "../assets/index.js";
import type { NodeServerHooks } from "../adapters/node/server.js";
import { createBundler } from "../bundler/index.js";
import type { ParsedCli } from "../config/cli-args.js";
import { errorMessage, PartyhouseError } from "../core/errors.js";
import { defaultLimits } from "../core/limits.js";
import type { Placement } from "../core/placement.js";
import { createLogger } from "../runtime/logger.js";
import { captureConsole } from "../runtime/ops/context.js";
import { createOps } from "../runtime/ops/index.js";
import type { LogEntry } from "../runtime/ops/log-stream.js";
import { startAdmin } from "../runtime/ops/admin.js";
import { startPartyhouse } from "../runtime/start.js";
import type { Partyhouse } from "../runtime/start.js";
import { MemoryDriver, providerFromDriver, SqliteDriver } from "../storage/index.js";
import type { StorageDriver } from "../storage/driver.js";
import { PostgresDriver } from "../storage/postgres.js";
import { redactUrl } from "../storage/postgres-url.js";
import { setupAi } from "./ai-setup.js";
import { clusterNode } from "./cluster-node.js";
import { artifactDir, hasArtifact } from "./artifact.js";
import { loadArtifactProject } from "./artifact-project.js";
import type { Project } from "./artifact-project.js";
import { scheduleCrons } from "./crons.js";
import { importParties } from "./import-parties.js";
import { bundlerLog, loadProjectConfig } from "./project.js";
import {
  adminToken,
  blockedThreshold,
  envMs,
  envPort,
  cronToken,
  stuckThreshold,
  hostDefines,
  metricsToken,
  readTls,
  shutdownGrace,
} from "./server-flags.js";
import { lockStateFolder } from "./state-lock.js";
import { startStuckWatch } from "./workers/stuck-watch.js";
import { reportToSupervisor, workerNode, workerRole } from "./workers/worker.js";

/**
 * `partyhouse dev` and `partyhouse start`: load and check the config, bundle the parties (or, in
 * start, load the build artifact when there is one), start the server, then (dev) reload on
 * change or (start) wait for SIGTERM/SIGINT and stop cleanly. This is the one place the program
 * is wired together; it reads top to bottom.
 */
export async function runServer(cli: ParsedCli, mode: "dev" | "start"): Promise<Partyhouse> {
  const base = createLogger(mode === "start" ? "json" : "pretty", { verbose: cli.verbose });
  // A worker of `start --workers N` (see workers/): a node of its own on the shared store.
  const role = mode === "start" ? workerRole() : undefined;
  const stuck = role ? startStuckWatch(role.slot, stuckThreshold()) : undefined;
  const ops = createOps({
    mode,
    log: base,
    metricsToken: metricsToken(),
    cronToken: cronToken(),
    blockedThresholdMs: blockedThreshold(),
    sampleMs: Math.max(100, envMs("PARTYHOUSE_ADMIN_SAMPLE_MS", 5000)),
    ...(stuck ? { entered: stuck.entered } : {}),
  });
  const log = ops.log;
  for (const flag of cli.ignored) log.warn(`${flag} has no effect in partyhouse; ignored`);
  if (mode === "start") {
    captureConsole((line) => {
      process.stdout.write(line + "\n");
      if (ops.logs.active) ops.logs.publish(JSON.parse(line) as LogEntry);
    });
  }
  const tls = readTls(cli.server);
  const graceMs = shutdownGrace(cli.server);

  // Assigned once the server listens; rebuilds that land before then are ignored.
  let ph: Partyhouse | undefined;
  const artifact = artifactDir(process.cwd(), cli.server.artifactDir);
  let project: Project;
  if (mode === "start" && (hasArtifact(artifact) || cli.server.artifactDir !== undefined)) {
    project = await loadArtifactProject(artifact, cli);
  } else {
    const config = await loadProjectConfig(cli, mode);
    const bundler = await createBundler(config, {
      watch: mode === "dev",
      log: bundlerLog(log),
      ...hostDefines(cli, mode),
      minify: cli.server.minify || config.minify,
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
    project = {
      parties: await importParties(bundler.result.parties),
      persist: config.persist,
      limits: config.limits,
      vars: { ...config.vars },
      crons: config.crons,
      serve: config.serve,
      port: config.port,
      host: config.host,
      partyNames: Object.keys(config.parties),
      bundler,
      from: "source",
      ai: config.ai,
      dotenv: config.dotenv,
    };
  }

  const lock =
    project.persist.kind === "sqlite"
      ? lockStateFolder(project.persist.path, role?.supervisorPid)
      : undefined;
  const assets = project.serve
    ? createAssetHandler(project.serve, { dev: mode === "dev" })
    : undefined;
  // Every `start` process on one PostgreSQL database is a node of one cluster.
  const cluster = role
    ? workerNode(role, project.persist, cli.server, project.host, log)
    : mode === "start" && project.persist.kind === "postgres"
      ? clusterNode(project.persist.url, cli.server, log)
      : undefined;
  const driver = await openDriver(project.persist);
  const ai = await setupAi(project, process.env, log);
  const server: NodeServerHooks = {
    ...ops.hooks,
    ...(tls ? { tls } : {}),
    trustProxy: cli.server.trustProxy || process.env["PARTYHOUSE_TRUST_PROXY"] === "1",
  };
  try {
    ph = await startPartyhouse({
      parties: project.parties,
      storage: providerFromDriver(ops.observe(driver), { ...defaultLimits, ...project.limits }),
      limits: project.limits,
      env: project.vars,
      port: project.port,
      hostname: project.host,
      log,
      crons: { ...project.crons },
      ai: ai.binding,
      observeHandler: ops.observeHandler,
      server,
      shutdownGraceMs: graceMs,
      ...(cluster
        ? {
            placement: cluster.placement,
            ...(cluster.nodeUrl !== undefined ? { nodeUrl: cluster.nodeUrl } : {}),
            ...(cluster.clusterSecret !== undefined
              ? { clusterSecret: cluster.clusterSecret }
              : {}),
            ...("listener" in cluster ? { nodeListener: cluster.listener } : {}),
          }
        : {}),
      ...(assets
        ? {
            siteAssets: assets,
            notFoundPage: () => assets.fetchAsset("/404.html"),
            assets: { fetch: (path: string) => assets.fetchAsset(path) },
          }
        : {}),
    });
    // Rooms are located only once the node is registered at the address others reach it on.
    await cluster?.placement.join(cluster.nodeUrl ?? ph.nodeUrl ?? ph.url);
  } catch (e) {
    lock?.release();
    await ph?.close().catch(() => {});
    await cluster?.placement.close().catch(() => {});
    await ai.close();
    if ((e as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new PartyhouseError(
        "PH_ERR_ADDRESS_IN_USE",
        `${project.host}:${project.port} is already in use by another process; stop it, or pick another port with -p <port> (or PORT=<port> for start)`,
      );
    }
    throw e;
  }
  const running = ph;
  ops.attach(running.inspect);
  const adminPort = cli.server.adminPort ?? envPort("PARTYHOUSE_ADMIN_PORT");
  const admin =
    adminPort === undefined
      ? undefined
      : await startAdmin({
          host: cli.server.adminHost ?? (process.env["PARTYHOUSE_ADMIN_HOST"] || "127.0.0.1"),
          port: adminPort,
          ...(adminToken() ? { token: adminToken()! } : {}),
          ops,
          inspect: running.inspect,
        }).catch(async (e: unknown) => {
          await running.close();
          throw e;
        });
  ops.state = "ready";
  // Each tick runs once: in a cluster the node that claims it in the database (every node
  // schedules, so a dead node's ticks still run); under a supervisor without one, worker 0.
  const placement: Placement | undefined = cluster?.placement;
  const claim = placement?.claimCronTick?.bind(placement);
  const crons = scheduleCrons(
    claim !== undefined || role === undefined || role.slot === 0 ? project.crons : {},
    async (name, expr, tickMs) => {
      if (claim !== undefined && !(await claim(name, tickMs))) return;
      await running.runCron(name, expr, tickMs);
    },
    log,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    ops.state = "draining";
    log.info(
      `${signal}: shutting down (closing sockets with 1012, up to ${graceMs} ms for in-flight requests, flushing storage)`,
    );
    crons.stop();
    ops.stop();
    void stuck?.stop();
    // A node drains: its server stops accepting, each room is flushed and released (another node
    // may claim it at once) and its sockets closed with 1012; then the node is marked dead.
    const server = running.close().then(() => cluster?.placement.close("dead"));
    void Promise.all([server, project.bundler?.dispose(), admin?.close(), ai.close()])
      .then(() => {
        lock?.release();
        log.info("stopped");
        process.exit(0);
      })
      .catch((e: unknown) => {
        log.error("PH_ERR_SHUTDOWN", `shutdown failed: ${errorMessage(e)}`);
        process.exit(1);
      });
  };
  // Before the listening line: a supervisor may signal as soon as it reads it.
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  const { persist } = project;
  const nodeUrl = cluster ? (cluster.nodeUrl ?? running.nodeUrl ?? running.url) : undefined;
  if (role) {
    // The supervisor announces the port once every worker is ready; each worker says it is.
    reportToSupervisor(
      { nodeId: role.nodeId, url: running.url, nodeUrl: nodeUrl!, persist },
      (why) => {
        log.warn(`${why}: draining`);
        stop("supervisor gone");
      },
    );
    log.info(`worker ${role.slot} serving ${running.url} (node ${nodeUrl})`, {
      worker: role.slot,
      node: role.nodeId,
      nodeUrl,
    });
    return running;
  }
  const where =
    persist.kind === "memory"
      ? "in memory"
      : persist.kind === "postgres"
        ? `in PostgreSQL ${redactUrl(persist.url)}`
        : persist.path;
  log.info(
    `partyhouse ${mode}: listening on ${running.url} (storage ${where}, from ${project.from})`,
    {
      parties: project.partyNames,
      ...(admin ? { admin: admin.url } : {}),
      ...(cluster
        ? {
            node: cluster.placement.nodeId,
            nodeUrl,
            leaseMs: cluster.placement.leaseMs,
          }
        : {}),
    },
  );
  if (admin) log.info(`admin listener on ${admin.url} (metrics, rooms, logs)`);

  return running;
}

/** The storage driver the config names; PostgreSQL is connected and migrated before serving. */
async function openDriver(persist: Project["persist"]): Promise<StorageDriver> {
  switch (persist.kind) {
    case "sqlite":
      return new SqliteDriver({ path: persist.path });
    case "postgres": {
      const { kind: _kind, ...options } = persist;
      const driver = new PostgresDriver(options);
      try {
        await driver.ready();
      } catch (e) {
        await driver.close().catch(() => {});
        throw e;
      }
      return driver;
    }
    default:
      return new MemoryDriver();
  }
}

export function reportFatal(e: unknown): never {
  if (e instanceof PartyhouseError) {
    process.stderr.write(`✖ [${e.code}] ${e.message}\n`);
  } else {
    process.stderr.write(`✖ ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  process.exit(1);
}
