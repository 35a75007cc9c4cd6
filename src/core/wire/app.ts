import { CloseCode, truncateReason } from "../close-codes.js";
import { errorMessage, PartyhouseError } from "../errors.js";
import type { RoomHost } from "../room/host.js";
import { executionContext, fetchLobby, roomLobby } from "../room/lobby.js";
import type { Logger } from "../log.js";
import type { PartyDef, PartyStatics } from "../room/party-def.js";
import { enterOrForward, ERROR_CODE_HEADER } from "../room/forwarding.js";
import type { Via } from "../room/forwarding.js";
import { matchPartyPath, pathnameOf } from "./router.js";
import type { PartyRoute } from "./router.js";
import { SocketBase } from "./socket-base.js";
import type { RawSocket, SocketSink } from "./socket.js";
import type { FetchSocket } from "../api/types.js";

/** The party wrote its own response on the raw transport (Socket.IO). */
export const HANDLED: unique symbol = Symbol("partyhouse.handled") as never;

export type UpgradeResult =
  | { kind: "response"; response: Response }
  | { kind: "accept"; attach(socket: RawSocket): SocketSink }
  | { kind: "handled" };

export interface AppOptions {
  log: Logger;
  /** Static assets from `serve`, with the single-page-app fallback. */
  siteAssets?: { fetch(request: Request): Promise<Response | null> };
  /** `/404.html` from the assets, served with status 404 when nothing else answers. */
  notFoundPage?: () => Promise<Response | null>;
  crons?: Readonly<Record<string, string>>;
  /**
   * Extra routes to rooms of raw parties outside `/parties/…` (Socket.IO's `/socket.io/?partyId=`).
   * Returns the room, or null to fall through.
   */
  rawRoute?: (pathname: string, url: string) => PartyRoute | null;
}

/**
 * The request pipeline, in PartyKit's order: party rooms (`onBeforeConnect`/`onBeforeRequest`,
 * then the room), else `onSocket`, the cron endpoint, static assets, `onFetch`, `404.html`, 404.
 */
export class PartyApp {
  constructor(
    readonly host: RoomHost,
    private readonly options: AppOptions,
  ) {}

  private get main(): PartyDef {
    return this.host.getDef("main")!;
  }

  private route(
    request: Request,
  ): { route: PartyRoute; def: PartyDef | undefined; declared: boolean } | null {
    const pathname = pathnameOf(request.url);
    const route = matchPartyPath(pathname);
    if (route !== null) return { route, def: this.host.getDef(route.party), declared: false };
    if (this.options.rawRoute) {
      // The pathname is already cut out; a route parses the URL only for a path it owns.
      const found = this.options.rawRoute(pathname, request.url);
      if (found !== null)
        return { route: found, def: this.host.getDef(found.party), declared: true };
    }
    return null;
  }

  private checkRoomId(room: string): Response | null {
    const max = this.host.shared.limits.maxRoomIdLength;
    if (room.length > max) {
      this.options.log.error(
        "PH_ERR_ROOM_ID",
        `room id of ${room.length} characters refused (limit ${max})`,
      );
      return new Response(`Room id too long: ${room.length} characters, the limit is ${max}`, {
        status: 400,
      });
    }
    return null;
  }

  /**
   * Runs a party's static onBeforeRequest/onBeforeConnect on a mutable copy of the request. What
   * it returns is passed on as is (a Request continues, a Response answers); a throw becomes
   * PartyKit's 401 with the message.
   */
  private async runBefore(
    hook: PartyStatics["onBeforeRequest"] | PartyStatics["onBeforeConnect"],
    what: string,
    request: Request,
    route: PartyRoute,
    via: Via,
  ): Promise<unknown> {
    // A forwarded request already passed the hook on the node that received it.
    if (hook === undefined || via === "node") return request;
    try {
      return await hook(
        new Request(request.url, request),
        roomLobby(this.host.shared, route.room),
        executionContext(this.options.log),
      );
    } catch (e) {
      this.options.log.error("PH_ERR_BEFORE", `${what}: ${errorMessage(e)}`, {
        party: route.party,
      });
      return unauthorised(e);
    }
  }

  /**
   * Answers an HTTP request. `native` is the adapter's own request, for raw parties and
   * forwarding; `via` says whether another node forwarded it (see forwarding.ts).
   */
  async fetch(
    request: Request,
    native?: unknown,
    via: Via = "client",
  ): Promise<Response | typeof HANDLED> {
    try {
      const hit = this.route(request);
      if (hit === null) return await this.fetchOther(request);
      const { route, def } = hit;
      if (def === undefined) return noSuchParty(route.party);
      const bad = this.checkRoomId(route.room);
      if (bad) return bad;
      if (def.wantsRaw && native !== undefined) {
        // The party's gate guards its raw transport too (every Socket.IO polling request);
        // only its answer counts, since the transport reads the original request.
        const gate = await this.runBefore(
          def.statics.onBeforeRequest,
          "onBeforeRequest",
          withoutBody(request),
          route,
          via,
        );
        if (gate instanceof Response) return gate;
        const at = await enterOrForward(this.host, route.party, route.room, via, (f, url) =>
          f.fetch(url, request, native),
        );
        if ("answer" in at) return at.answer === "handled" ? HANDLED : at.answer;
        await at.room.handOver("request", native);
        return HANDLED;
      }
      const next = await this.runBefore(
        def.statics.onBeforeRequest,
        "onBeforeRequest",
        request,
        route,
        via,
      );
      if (next instanceof Response) return next;
      if (!def.hasOnRequest) {
        this.options.log.error(
          "PH_ERR_NO_ON_REQUEST",
          `party "${route.party}" room "${route.room}": No onRequest handler`,
          { party: route.party, room: route.room },
        );
        return new Response("No onRequest handler", { status: 500 });
      }
      // PartyKit hands whatever onBeforeRequest returned to the room's fetch, so anything but a
      // Request fails there as an invalid URL.
      if (!(next instanceof Request)) throw new TypeError(`Invalid URL: ${String(next)}`);
      const at = await enterOrForward(this.host, route.party, route.room, via, (f, url) =>
        f.fetch(url, next, native),
      );
      if ("answer" in at) return at.answer === "handled" ? HANDLED : at.answer;
      const room = at.room;
      try {
        return await room.request(next);
      } catch (e) {
        this.options.log.error(
          "PH_ERR_ON_REQUEST",
          `party "${route.party}" room "${route.room}" onRequest: ${errorMessage(e)}`,
          {
            stack: e instanceof Error ? e.stack : undefined,
          },
        );
        return roomFailed(e);
      }
    } catch (e) {
      return this.pipelineError("fetch", e);
    }
  }

  /** Decides what to do with a WebSocket upgrade (`native` and `via` as for `fetch`). */
  async upgrade(request: Request, native?: unknown, via: Via = "client"): Promise<UpgradeResult> {
    try {
      const hit = this.route(request);
      if (hit === null) return await this.upgradeOther(request);
      const { route, def } = hit;
      if (def === undefined) return { kind: "response", response: noSuchParty(route.party) };
      const bad = this.checkRoomId(route.room);
      if (bad) return { kind: "response", response: bad };
      if (def.wantsRaw && native !== undefined) {
        const gate = await this.runBefore(
          def.statics.onBeforeConnect,
          "onBeforeConnect",
          request,
          route,
          via,
        );
        if (gate instanceof Response) return { kind: "response", response: gate };
        const at = await enterOrForward(this.host, route.party, route.room, via, (f, url) =>
          f.upgrade(url, request, native),
        );
        if ("room" in at) await at.room.handOver("upgrade", native);
        return { kind: "handled" };
      }
      const next = await this.runBefore(
        def.statics.onBeforeConnect,
        "onBeforeConnect",
        request,
        route,
        via,
      );
      if (next instanceof Response) return { kind: "response", response: next };
      // Anything else but a Request (undefined included) connects with the original request.
      const final = next instanceof Request ? next : request;
      const at = await enterOrForward(this.host, route.party, route.room, via, (f, url) =>
        native === undefined
          ? Promise.reject(new Error("no native upgrade to forward"))
          : f.upgrade(url, final, native),
      );
      if ("answer" in at) return { kind: "handled" };
      const room = at.room;
      try {
        await room.ready();
      } catch (e) {
        return { kind: "response", response: roomFailed(e) };
      }
      const connId = new URL(final.url).searchParams.get("_pk") || crypto.randomUUID();
      return { kind: "accept", attach: (socket) => room.connect(socket, connId, final) };
    } catch (e) {
      return { kind: "response", response: this.pipelineError("upgrade", e) };
    }
  }

  /** Anything the pipeline itself threw: logged with its code, answered with its status (or 500). */
  private pipelineError(what: "fetch" | "upgrade", e: unknown): Response {
    const code = e instanceof PartyhouseError ? e.code : "PH_ERR_INTERNAL";
    this.options.log.error(code, `${what} error: ${errorMessage(e)}`);
    const status = e instanceof PartyhouseError && e.status !== 500 ? e.status : 500;
    // The code travels in a header so a node that forwarded this request can tell a "not owner"
    // 503 (retry after re-resolving) from the room's own answers.
    return new Response(errorMessage(e), { status, headers: { [ERROR_CODE_HEADER]: code } });
  }

  private async upgradeOther(request: Request): Promise<UpgradeResult> {
    const onSocket = this.main.statics.onSocket;
    if (onSocket === undefined) {
      return { kind: "response", response: await this.fetchOther(request) };
    }
    const log = this.options.log;
    return {
      kind: "accept",
      attach: (wire) => {
        const socket = new SocketBase(wire, {
          onListenerError: (e) =>
            log.error("PH_ERR_HANDLER", `onSocket listener: ${errorMessage(e)}`),
        }) as SocketBase & { request: Request };
        socket.request = request;
        Promise.resolve()
          .then(() =>
            onSocket(
              socket as unknown as FetchSocket,
              fetchLobby(this.host.shared),
              executionContext(log),
            ),
          )
          .catch((e: unknown) => {
            log.error("PH_ERR_HANDLER", `onSocket: ${errorMessage(e)}`);
            socket.close(CloseCode.INTERNAL, truncateReason(errorMessage(e)));
          });
        return {
          message: (data) => socket.emit("message", { type: "message", data, target: socket }),
          close: (code, reason, wasClean) =>
            socket.emit("close", { type: "close", code, reason, wasClean, target: socket }),
          error: (error) =>
            socket.emit("error", { type: "error", error, message: error.message, target: socket }),
        };
      },
    };
  }

  private async fetchOther(request: Request): Promise<Response> {
    const statics = this.main.statics;
    if (statics.onCron && pathnameOf(request.url) === "/__scheduled__") {
      const name = new URL(request.url).searchParams.get("cron") ?? "";
      // Only a configured cron runs (PartyKit dev runs any name with "* * * * *").
      const cron = Object.hasOwn(this.options.crons ?? {}, name)
        ? this.options.crons![name]
        : undefined;
      if (cron === undefined) {
        this.options.log.error(
          "PH_ERR_CRON_UNKNOWN",
          `/__scheduled__: no cron "${name}" in the config`,
        );
        return new Response(`No cron "${name}" in the config's crons`, { status: 404 });
      }
      await this.runCron(name, cron);
      return new Response(`ran cron ${name}: ${cron}`, { status: 200 });
    }
    const asset = await this.options.siteAssets?.fetch(request);
    if (asset) return asset;
    if (statics.onFetch) {
      const res = await statics.onFetch(
        request,
        fetchLobby(this.host.shared),
        executionContext(this.options.log),
      );
      if (res) return res;
    }
    const page = await this.options.notFoundPage?.();
    if (page)
      return new Response(page.body, {
        status: 404,
        statusText: "Not Found",
        headers: page.headers,
      });
    return new Response("Not found", { status: 404 });
  }

  /** Calls the main party's static onCron, as the scheduler does on each tick. */
  async runCron(name: string, cron: string, scheduledTime = Date.now()): Promise<void> {
    const onCron = this.main.statics.onCron;
    if (!onCron) return;
    await onCron(
      {
        name,
        cron,
        scheduledTime,
        noRetry() {
          throw new Error("Not implemented");
        },
      },
      fetchLobby(this.host.shared),
      executionContext(this.options.log),
    );
  }
}

/** The request a raw party's gate sees: its body belongs to the transport, which reads it. */
function withoutBody(request: Request): Request {
  return new Request(request.url, { method: request.method, headers: request.headers });
}

/**
 * A throwing onBefore* hook: 401 with the error's message. As in PartyKit, only a non-Error falls
 * back to "Unauthorised" when it stringifies to nothing; an Error with no message gives no body.
 */
function unauthorised(e: unknown): Response {
  return new Response(e instanceof Error ? e.message : String(e) || "Unauthorised", {
    status: 401,
  });
}

/**
 * An unknown party is 404 `Party x not found`; `/parties//room` names none at all, which PartyKit
 * answers with 500 and the message of the assertion that catches it.
 */
function noSuchParty(party: string): Response {
  return party === ""
    ? new Response("No party found in request url", { status: 500 })
    : new Response(`Party ${party} not found`, { status: 404 });
}

/** A room that failed a request (onStart or onRequest threw): the message, never a stack. */
function roomFailed(e: unknown): Response {
  return new Response(errorMessage(e) || "Uncaught exception when making a request", {
    status: statusFromError(e),
  });
}

/** PartyKit answers a failed onRequest with the error's `code` as status when it is one. */
function statusFromError(e: unknown): number {
  const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === "number" && Number.isInteger(code) && code >= 200 && code <= 599
    ? code
    : 500;
}
