import { PartyhouseError } from "./errors.js";
import type {
  Connection,
  ConnectionContext,
  PartyKitServer,
  Room,
  Server,
  Worker,
  WSMessage,
} from "./types.js";

/**
 * A party that wants the raw transport (Socket.IO's engine.io needs Node's req/res and upgrade
 * socket) sets this symbol as a static property and implements it on the instance. Symbol.for,
 * so a party bundled with its own copy of partyhouse still matches.
 */
export const RAW_HANDLER: unique symbol = Symbol.for("partyhouse.rawHandler") as never;

/**
 * An instance may report that it holds live resources the platform cannot see (Socket.IO
 * sockets): while this returns true the room is neither evicted nor hibernated.
 */
export const BUSY: unique symbol = Symbol.for("partyhouse.busy") as never;

/**
 * Called when the platform closes a room's sockets for good (shutdown, code reload): an instance
 * that holds sockets of its own (Socket.IO) closes them and stops its timers.
 */
export const DISPOSE: unique symbol = Symbol.for("partyhouse.dispose") as never;

export interface RawHandlerInstance {
  [RAW_HANDLER](kind: "request" | "upgrade", raw: unknown): void;
}

/** Static handlers, the same for both the class and the module form. */
export interface PartyStatics {
  onFetch?: Worker["onFetch"];
  onSocket?: Worker["onSocket"];
  onBeforeRequest?: Worker["onBeforeRequest"];
  onBeforeConnect?: Worker["onBeforeConnect"];
  onCron?: Worker["onCron"];
}

/** The uniform instance the room runtime drives, whatever form the party was written in. */
export interface PartyInstance {
  readonly hibernate: boolean;
  readonly hasSocketHandler: boolean;
  readonly raw: RawHandlerInstance | undefined;
  isBusy(): boolean;
  dispose(): unknown;
  onStart(): unknown;
  getConnectionTags(conn: Connection, ctx: ConnectionContext): string[] | Promise<string[]>;
  onConnect(conn: Connection, ctx: ConnectionContext): unknown;
  onMessage(message: WSMessage, conn: Connection): unknown;
  onClose(conn: Connection): unknown;
  onError(conn: Connection, err: Error): unknown;
  onRequest(req: Request): Response | Promise<Response>;
  onAlarm(): unknown;
}

/** A party as loaded from a user module. */
export interface PartyDef {
  readonly name: string;
  readonly statics: PartyStatics;
  /** `"onRequest" in` the instance methods: PartyKit answers 500 before touching the room if not. */
  readonly hasOnRequest: boolean;
  readonly wantsRaw: boolean;
  create(room: Room): PartyInstance;
}

function isClass(value: unknown): value is Worker {
  return (
    typeof value === "function" &&
    "prototype" in value &&
    (value as { prototype: unknown }).prototype instanceof Object
  );
}

const instanceHandlers = ["onConnect", "onRequest", "onMessage", "onClose", "onError", "onAlarm"];
const staticHandlers = [
  "onFetch",
  "unstable_onFetch",
  "onSocket",
  "onBeforeConnect",
  "onBeforeRequest",
  "onCron",
];

/** Validates a party module's default export and wraps it, as PartyKit's facade does. */
export function definePartyFromModule(name: string, exported: unknown): PartyDef {
  if (isClass(exported)) return defineClassParty(name, exported);
  if (typeof exported === "object" && exported !== null) {
    return defineModuleParty(name, exported as PartyKitServer);
  }
  throw new PartyhouseError(
    "PH_ERR_PARTY_EXPORT",
    `party "${name}": the default export must be a Party.Server class or an object of handlers, got ${exported === null ? "null" : typeof exported}`,
  );
}

function checkFunctions(name: string, target: object, keys: string[], where: string): void {
  for (const key of keys) {
    if (key in target && typeof (target as Record<string, unknown>)[key] !== "function") {
      throw new PartyhouseError(
        "PH_ERR_PARTY_EXPORT",
        `party "${name}": ${where}.${key} should be a function`,
      );
    }
  }
}

function pickStatics(source: Record<string, unknown>): PartyStatics {
  const fn = <T>(k: string) => (typeof source[k] === "function" ? (source[k] as T) : undefined);
  const statics: PartyStatics = {};
  const onFetch = fn<Worker["onFetch"]>("onFetch") ?? fn<Worker["onFetch"]>("unstable_onFetch");
  if (onFetch) statics.onFetch = onFetch.bind(source);
  const onSocket = fn<Worker["onSocket"]>("onSocket");
  if (onSocket) statics.onSocket = onSocket.bind(source);
  const obr = fn<Worker["onBeforeRequest"]>("onBeforeRequest");
  if (obr) statics.onBeforeRequest = obr.bind(source);
  const obc = fn<Worker["onBeforeConnect"]>("onBeforeConnect");
  if (obc) statics.onBeforeConnect = obc.bind(source);
  const onCron = fn<Worker["onCron"]>("onCron");
  if (onCron) statics.onCron = onCron.bind(source);
  return statics;
}

function defineClassParty(name: string, Cls: Worker): PartyDef {
  checkFunctions(name, Cls, staticHandlers, "static");
  const proto = Cls.prototype as Record<string, unknown>;
  checkFunctions(name, proto, instanceHandlers, "prototype");
  const wantsRaw = (Cls as unknown as Record<symbol, unknown>)[RAW_HANDLER] === true;
  return {
    name,
    statics: pickStatics(Cls as unknown as Record<string, unknown>),
    hasOnRequest: "onRequest" in proto,
    wantsRaw,
    create(room) {
      const server: Server = new Cls(room);
      const s = server as Server &
        Partial<RawHandlerInstance> & { [BUSY]?: () => boolean; [DISPOSE]?: () => unknown };
      return {
        hibernate: server.options?.hibernate === true,
        hasSocketHandler:
          typeof server.onConnect === "function" || typeof server.onMessage === "function",
        raw: typeof s[RAW_HANDLER] === "function" ? (s as RawHandlerInstance) : undefined,
        isBusy: () => typeof s[BUSY] === "function" && s[BUSY]() === true,
        dispose: () => (typeof s[DISPOSE] === "function" ? s[DISPOSE]() : undefined),
        onStart: () => server.onStart?.(),
        getConnectionTags: (c, ctx) => server.getConnectionTags?.(c, ctx) ?? [],
        onConnect: (c, ctx) => server.onConnect?.(c, ctx),
        onMessage: (m, c) => server.onMessage?.(m, c),
        onClose: (c) => server.onClose?.(c),
        onError: (c, e) => server.onError?.(c, e),
        onRequest: (req) =>
          server.onRequest
            ? server.onRequest(req)
            : new Response("Invalid onRequest handler", { status: 500 }),
        onAlarm: () => server.onAlarm?.(),
      };
    },
  };
}

function defineModuleParty(name: string, mod: PartyKitServer): PartyDef {
  checkFunctions(name, mod, [...instanceHandlers, ...staticHandlers], "export");
  // PartyKit's rule for the legacy form: hibernate unless the module has onConnect and no onMessage.
  const hibernate = "onMessage" in mod || !("onConnect" in mod);
  return {
    name,
    statics: pickStatics(mod as unknown as Record<string, unknown>),
    hasOnRequest: "onRequest" in mod,
    wantsRaw: false,
    create(room) {
      return {
        hibernate,
        hasSocketHandler:
          typeof mod.onConnect === "function" || typeof mod.onMessage === "function",
        raw: undefined,
        isBusy: () => false,
        dispose: () => undefined,
        onStart: () => undefined,
        getConnectionTags: () => [],
        onConnect: (c, ctx) => mod.onConnect?.(c, room, ctx),
        onMessage: (m, c) => mod.onMessage?.(m, c, room),
        onClose: (c) => mod.onClose?.(c, room),
        onError: (c, e) => mod.onError?.(c, e, room),
        onRequest: (req) =>
          mod.onRequest
            ? mod.onRequest(req, room)
            : new Response("Invalid onRequest handler", { status: 500 }),
        onAlarm: () => mod.onAlarm?.(room),
      };
    },
  };
}
