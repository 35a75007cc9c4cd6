import { createNodeForwarder } from "../adapters/node/forward.js";
import { resolveLimits } from "../config/limits.js";
import { createNodeServer } from "../adapters/node/server.js";
import type { NodeServerHooks } from "../adapters/node/server.js";
import { PartyApp } from "../core/wire/app.js";
import type { AppOptions } from "../core/wire/app.js";
import { RoomHost } from "../core/room/host.js";
import { createInspector } from "../core/room/inspect.js";
import { declaredRoutes } from "../core/room/raw-routes.js";
import type { Inspector } from "../core/room/inspect.js";
import type { Limits } from "../core/limits.js";
import type { Logger } from "../core/log.js";
import type { Placement } from "../core/placement.js";
import { silentLogger } from "../core/log.js";
import { definePartyFromModule } from "../core/room/party-def.js";
import type { PartyDef } from "../core/room/party-def.js";
import type { StorageProvider } from "../core/api/storage-api.js";
import type { AssetFetcher, Parties } from "../core/api/types.js";
import { unconfiguredAi } from "../compat/ai/binding.js";
import { createStorageProvider, openStorageProvider } from "../storage/provider.js";
import { FaultIsolation } from "./fault-isolation/index.js";
import { timeHandlers } from "./handler-timing.js";
import type { HandlerObserver } from "./handler-timing.js";
import { measureSerialized } from "./measure.js";

export type StorageOption =
  | StorageProvider
  | { kind: "memory" }
  | { kind: "sqlite"; path: string; synchronous?: "normal" | "full" }
  /** Connected and migrated before the server listens; see `openStorageProvider`. */
  | { kind: "postgres"; url: string; schema?: string; tablePrefix?: string };

export interface StartOptions {
  /** Party name → the module's default export (a Party.Server class or a module object). */
  parties: Record<string, unknown>;
  /** Defaults to in-memory storage. */
  storage?: StorageOption;
  limits?: Partial<Limits>;
  env?: Record<string, unknown>;
  /** Port 0 picks a free port. Defaults to 0. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  hostname?: string;
  log?: Logger;
  siteAssets?: AppOptions["siteAssets"];
  notFoundPage?: AppOptions["notFoundPage"];
  assets?: AssetFetcher;
  crons?: Record<string, string>;
  alarmRetryBaseMs?: number;
  /**
   * How often stored alarms due soon are read into timers (ms). Default 30,000 in one process,
   * 1,000 in a cluster (an orphaned alarm fires within about a second once its owner's lease ran out).
   */
  alarmSweepMs?: number;
  /**
   * @internal Who owns a room (the distributed mode's seam); defaults to this process owning
   * every room.
   */
  placement?: Placement;
  /**
   * @internal How long the owner of a room may take to answer a forwarded upgrade before it
   * counts as not the owner (default 5,000 ms).
   */
  ownerAnswerMs?: number;
  /**
   * @internal This node's address for other nodes (PARTYHOUSE_NODE_URL), e.g.
   * `http://10.0.0.5:1999`: what a cluster placement names as the owner of this node's rooms.
   * Forwarding itself only needs the owner's address, which the placement gives.
   */
  nodeUrl?: string;
  /**
   * @internal The secret every node of a cluster shares (PARTYHOUSE_CLUSTER_SECRET). With it, a
   * request for a room another node owns is forwarded there, signed; without it such a request
   * gets 503 PH_ERR_NOT_OWNER, and any request claiming to come from a node gets 403.
   */
  clusterSecret?: string;
  /**
   * @internal `--workers`: also listen on this address for this process alone (the main port is
   * shared by every worker); `Partyhouse.nodeUrl` names it, for the placement.
   */
  nodeListener?: { port: number; host: string };
  /**
   * `room.context.ai`: an AI binding (`new OpenAIForwardingAi(settings)` from partyhouse, or any
   * object). Default: one whose every use fails with PH_ERR_AI_NOT_CONFIGURED.
   */
  ai?: object;
  /** TLS, trust-proxy and the ops hooks of the Node server (see NodeServerHooks). */
  server?: NodeServerHooks;
  /**
   * How long `close()` waits for sockets to close and in-flight requests to be answered before
   * it drops them (default 2000 ms).
   */
  shutdownGraceMs?: number;
  /**
   * Installs process-level `unhandledRejection`/`uncaughtException` listeners so a fault of one
   * room resets that room instead of ending the process (default true). Turn it off only if the
   * embedding program handles those events itself.
   */
  faultIsolation?: boolean;
  /**
   * Told of every handler call (onMessage, onRequest, onAlarm, …) once it settled, with its
   * duration in seconds: the CLI feeds the `partyhouse_handler_duration_seconds` histogram.
   */
  observeHandler?: HandlerObserver;
}

/** A running partyhouse server. */
export interface Partyhouse {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** @internal The address of `StartOptions.nodeListener`, when one was asked for. */
  readonly nodeUrl?: string;
  /**
   * Party stubs for code in this process: `ph.parties.main.get("lobby").fetch("/x")` reaches the
   * room as `room.context.parties` does from a party (no network hop, no onBefore* hooks).
   */
  readonly parties: Parties;
  /** What runs here: live rooms, connections, a room's storage (tests, health, metrics). */
  readonly inspect: Inspector;
  /**
   * Runs the main party's static onCron, as the scheduler does on each tick; `scheduledTime`
   * (epoch ms) is the tick's, now by default.
   */
  runCron(name: string, cron: string, scheduledTime?: number): Promise<void>;
  /** Replaces the party code; rooms restart (sockets closed with 1012), storage stays. */
  reload(parties: Record<string, unknown>): void;
  /** Graceful stop: stop accepting, close sockets with 1012, flush storage. */
  close(): Promise<void>;
}

export function defineParties(parties: Record<string, unknown>): Map<string, PartyDef> {
  const defs = new Map<string, PartyDef>();
  for (const [name, exported] of Object.entries(parties)) {
    defs.set(name, definePartyFromModule(name, exported));
  }
  return defs;
}

async function toProvider(
  storage: StorageOption | undefined,
  limits: Limits,
): Promise<StorageProvider> {
  if (storage === undefined) return createStorageProvider({ kind: "memory" }, limits);
  if ("open" in storage) return storage;
  return openStorageProvider(storage, limits);
}

/**
 * Starts partyhouse in this process: the embedding API the CLI and the tests use.
 *
 * @example
 * const ph = await startPartyhouse({ parties: { main: ChatServer }, storage: { kind: "sqlite", path: "state.db" } });
 * console.log(`listening on ${ph.url}`);
 */
export async function startPartyhouse(options: StartOptions): Promise<Partyhouse> {
  const limits = resolveLimits(options.limits, "startPartyhouse");
  const log = options.log ?? silentLogger;
  const isolation = new FaultIsolation(log, limits);
  const observe = options.observeHandler;
  const defined = (parties: Record<string, unknown>) =>
    observe === undefined ? defineParties(parties) : timeHandlers(defineParties(parties), observe);
  const guarded = (parties: Record<string, unknown>) =>
    options.faultIsolation === false ? defined(parties) : isolation.guard(defined(parties));
  const forwarder =
    options.clusterSecret === undefined
      ? undefined
      : createNodeForwarder({
          secret: options.clusterSecret,
          log,
          ...(options.ownerAnswerMs !== undefined ? { ownerAnswerMs: options.ownerAnswerMs } : {}),
        });
  const host = new RoomHost({
    parties: guarded(options.parties),
    storage: await toProvider(options.storage, limits),
    limits,
    log,
    env: options.env ?? {},
    ...(options.assets ? { assets: options.assets } : {}),
    measure: measureSerialized,
    ai: options.ai ?? unconfiguredAi(),
    ...(options.alarmRetryBaseMs !== undefined
      ? { alarmRetryBaseMs: options.alarmRetryBaseMs }
      : {}),
    ...(options.alarmSweepMs !== undefined ? { alarmSweepMs: options.alarmSweepMs } : {}),
    ...(options.placement ? { placement: options.placement } : {}),
    ...(forwarder ? { forwarder } : {}),
  });
  // Routes parties declare outside /parties/… (Socket.IO's /socket.io/?partyId=).
  let declared = declaredRoutes(options.parties);
  const app = new PartyApp(host, {
    log,
    ...(options.siteAssets ? { siteAssets: options.siteAssets } : {}),
    ...(options.notFoundPage ? { notFoundPage: options.notFoundPage } : {}),
    ...(options.crons ? { crons: options.crons } : {}),
    rawRoute: (pathname, url) => declared?.(pathname, url) ?? null,
  });
  const node = createNodeServer(app, {
    ...options.server,
    limits,
    log,
    ...(options.clusterSecret === undefined ? {} : { clusterSecret: options.clusterSecret }),
  });
  const hostname = options.hostname ?? "127.0.0.1";
  const address = await node.listen(options.port ?? 0, hostname);
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const scheme = options.server?.tls ? "https" : "http";
  const url = `${scheme}://${shownHost === "0.0.0.0" ? "127.0.0.1" : shownHost}:${address.port}`;
  host.setOrigin(url);
  const nodeAddress = options.nodeListener
    ? await node.listenNode(options.nodeListener.port, options.nodeListener.host)
    : undefined;
  if (options.faultIsolation !== false) isolation.attach(host);
  await host.start();
  let closing: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    ...(nodeAddress ? { nodeUrl: `http://${options.nodeListener!.host}:${nodeAddress.port}` } : {}),
    parties: host.shared.parties,
    inspect: createInspector(host),
    runCron: (name, cron, scheduledTime) => app.runCron(name, cron, scheduledTime),
    reload(parties) {
      host.reload(guarded(parties));
      declared = declaredRoutes(parties);
    },
    close() {
      const grace = options.shutdownGraceMs ?? 2000;
      closing ??= node
        .close(() => {
          // Forwarded sockets belong to their owner; this node only cuts its pipes.
          forwarder?.close();
          return host.shutdown(grace);
        }, grace)
        .finally(() => isolation.detach());
      return closing;
    },
  };
}
