import { PartyhouseError } from "../errors.js";
import { BUSY, DISPOSE, RAW_HANDLER } from "../raw-contract.js";
import type { RawHandlerInstance } from "../raw-contract.js";
import type {
  AlarmInvocationInfo,
  Connection,
  ConnectionContext,
  PartyKitServer,
  Room,
  Server,
  Worker,
  WSMessage,
} from "../api/types.js";

export { BUSY, DISPOSE, RAW_HANDLER } from "../raw-contract.js";
export type { RawHandlerInstance } from "../raw-contract.js";

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
  onAlarm(info: AlarmInvocationInfo): unknown;
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

type ServerWithSymbols = Server &
  Partial<RawHandlerInstance> & { [BUSY]?: () => boolean; [DISPOSE]?: () => unknown };

const invalidOnRequest = () => new Response("Invalid onRequest handler", { status: 500 });

/** Drives a `Party.Server` instance. A class: one per live room, methods on the prototype. */
class ClassInstance implements PartyInstance {
  readonly hibernate: boolean;
  readonly raw: RawHandlerInstance | undefined;
  constructor(private readonly s: ServerWithSymbols) {
    this.hibernate = s.options?.hibernate === true;
    this.raw = typeof s[RAW_HANDLER] === "function" ? (s as RawHandlerInstance) : undefined;
  }
  isBusy(): boolean {
    return typeof this.s[BUSY] === "function" && this.s[BUSY]() === true;
  }
  dispose(): unknown {
    return typeof this.s[DISPOSE] === "function" ? this.s[DISPOSE]() : undefined;
  }
  onStart(): unknown {
    return this.s.onStart?.();
  }
  getConnectionTags(c: Connection, ctx: ConnectionContext): string[] | Promise<string[]> {
    return this.s.getConnectionTags?.(c, ctx) ?? [];
  }
  onConnect(c: Connection, ctx: ConnectionContext): unknown {
    return this.s.onConnect?.(c, ctx);
  }
  onMessage(m: WSMessage, c: Connection): unknown {
    return this.s.onMessage?.(m, c);
  }
  onClose(c: Connection): unknown {
    return this.s.onClose?.(c);
  }
  onError(c: Connection, e: Error): unknown {
    return this.s.onError?.(c, e);
  }
  onRequest(req: Request): Response | Promise<Response> {
    return this.s.onRequest ? this.s.onRequest(req) : invalidOnRequest();
  }
  onAlarm(info: AlarmInvocationInfo): unknown {
    return this.s.onAlarm?.(info);
  }
}

/** Drives a legacy module-object party: the room is passed as the last argument. */
class ModuleInstance implements PartyInstance {
  readonly raw = undefined;
  constructor(
    private readonly mod: PartyKitServer,
    private readonly room: Room,
    readonly hibernate: boolean,
  ) {}
  isBusy(): boolean {
    return false;
  }
  dispose(): unknown {
    return undefined;
  }
  onStart(): unknown {
    return undefined;
  }
  getConnectionTags(): string[] {
    return [];
  }
  onConnect(c: Connection, ctx: ConnectionContext): unknown {
    return this.mod.onConnect?.(c, this.room, ctx);
  }
  onMessage(m: WSMessage, c: Connection): unknown {
    return this.mod.onMessage?.(m, c, this.room);
  }
  onClose(c: Connection): unknown {
    return this.mod.onClose?.(c, this.room);
  }
  onError(c: Connection, e: Error): unknown {
    return this.mod.onError?.(c, e, this.room);
  }
  onRequest(req: Request): Response | Promise<Response> {
    return this.mod.onRequest ? this.mod.onRequest(req, this.room) : invalidOnRequest();
  }
  onAlarm(info: AlarmInvocationInfo): unknown {
    return this.mod.onAlarm?.(this.room, info);
  }
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
    create: (room) => new ClassInstance(new Cls(room) as ServerWithSymbols),
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
    create: (room) => new ModuleInstance(mod, room, hibernate),
  };
}
