/**
 * The public PartyKit server API, as partyhouse implements it.
 *
 * These are our own declarations of the classic `partykit/server` API surface. A project that
 * imports `partykit/server` types keeps compiling against PartyKit's package; at run time the
 * bundler points `partykit/server` at partyhouse, and the shapes below are what it receives.
 */
import type { DurableStorage } from "./storage-api.js";

export type { DurableStorage as Storage } from "./storage-api.js";

/** The incoming HTTP request: the standard Fetch API Request. */
export type Request = globalThis.Request;

/** A message as a party receives it: text, or binary as an ArrayBuffer. */
export type WSMessage = string | ArrayBuffer | ArrayBufferView;

/** Connection metadata only available while the connection is made. */
export interface ConnectionContext {
  request: Request;
}

type ImmutablePrimitive = undefined | null | boolean | string | number;
export type Immutable<T> = T extends ImmutablePrimitive
  ? T
  : T extends Array<infer U>
    ? ReadonlyArray<Immutable<U>>
    : T extends Map<infer K, infer V>
      ? ReadonlyMap<Immutable<K>, Immutable<V>>
      : T extends Set<infer M>
        ? ReadonlySet<Immutable<M>>
        : { readonly [K in keyof T]: Immutable<T[K]> };

type ImmutableObject<T> = { readonly [K in keyof T]: Immutable<T[K]> };
/** As in PartyKit: the state is read-only from the outside; change it with setState. */
export type ConnectionState<T> = ImmutableObject<T> | null;
export type ConnectionSetStateFn<T> = (prevState: ConnectionState<T>) => T;

/** The event objects a Connection dispatches, shaped like the WebSocket DOM events. */
export interface MessageEventLike {
  type: "message";
  data: string | ArrayBuffer;
  target: unknown;
}
export interface CloseEventLike {
  type: "close";
  code: number;
  reason: string;
  wasClean: boolean;
  target: unknown;
}
export interface ErrorEventLike {
  type: "error";
  error: unknown;
  message: string;
  target: unknown;
}
export interface OpenEventLike {
  type: "open";
  target: unknown;
}

export interface EventMapLike {
  message: MessageEventLike;
  close: CloseEventLike;
  error: ErrorEventLike;
  open: OpenEventLike;
}

/** A WebSocket connected to a room: WebSocket-like, plus PartyKit's id, uri and state. */
export interface Connection<TState = unknown> {
  readonly id: string;
  readonly uri: string;
  /** @deprecated PartyKit keeps this alias: the connection is its own socket. */
  readonly socket: Connection<TState>;
  readonly state: ConnectionState<TState>;
  setState(state: TState | ConnectionSetStateFn<TState> | null): ConnectionState<TState>;
  /** @deprecated use state */
  deserializeAttachment<T = unknown>(): T | null;
  /** @deprecated use setState */
  serializeAttachment<T = unknown>(attachment: T): void;
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly protocol: string;
  readonly extensions: string;
  readonly url: string;
  binaryType: "arraybuffer" | "blob" | "nodebuffer";
  send(data: WSMessage): void;
  close(code?: number, reason?: string): void;
  addEventListener<K extends keyof EventMapLike>(
    type: K,
    listener: (event: EventMapLike[K]) => void,
    options?: { once?: boolean },
  ): void;
  removeEventListener<K extends keyof EventMapLike>(
    type: K,
    listener: (event: EventMapLike[K]) => void,
  ): void;
  /** Cloudflare's accept(): connections arrive accepted, so this is a no-op kept for libraries. */
  accept(): void;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
}

/** A WebSocket as returned by `room.context.parties.x.get(id).socket()`. */
export interface StubSocket {
  readonly readyState: number;
  send(data: WSMessage): void;
  close(code?: number, reason?: string): void;
  addEventListener<K extends keyof EventMapLike>(
    type: K,
    listener: (event: EventMapLike[K]) => void,
    options?: { once?: boolean },
  ): void;
  removeEventListener<K extends keyof EventMapLike>(
    type: K,
    listener: (event: EventMapLike[K]) => void,
  ): void;
  accept(): void;
  onmessage: ((event: MessageEventLike) => void) | null;
  onclose: ((event: CloseEventLike) => void) | null;
  onerror: ((event: ErrorEventLike) => void) | null;
  onopen: ((event: OpenEventLike) => void) | null;
}

export interface Stub {
  /** @deprecated use `await socket()` */
  connect(): StubSocket;
  socket(pathOrInit?: string | RequestInit, init?: RequestInit): Promise<StubSocket>;
  fetch(
    pathOrInit?: string | RequestInit | Request,
    init?: RequestInit | Request,
  ): Promise<Response>;
}

export type Parties = Record<string, { get(id: string): Stub }>;

export interface AssetFetcher {
  fetch(path: string): Promise<Response | null>;
}

export interface Context {
  parties: Parties;
  assets: AssetFetcher;
  ai: Record<string, never>;
  vectorize: Record<string, never>;
  bindings: { r2: Record<string, never>; kv: Record<string, never> };
}

export interface AnalyticsLike {
  writeDataPoint(data?: unknown): void;
}

/** The lobby handed to static handlers before a room exists. */
export interface FetchLobby {
  env: Record<string, unknown>;
  parties: Parties;
  assets: AssetFetcher;
  ai: Record<string, never>;
  vectorize: Record<string, never>;
  analytics: AnalyticsLike;
  bindings: Context["bindings"];
}
export type CronLobby = FetchLobby;
export interface Lobby extends FetchLobby {
  id: string;
}

export interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
}

/** Room: a single, self-contained, long-lived session. */
export interface Room {
  readonly id: string;
  readonly internalID: string;
  readonly name: string;
  readonly env: Record<string, unknown>;
  readonly storage: DurableStorage;
  readonly context: Context;
  readonly analytics: AnalyticsLike;
  /** @deprecated use getConnections */
  readonly connections: Map<string, Connection>;
  /** @deprecated use context.parties */
  readonly parties: Parties;
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
  broadcast(msg: WSMessage, without?: string[]): void;
  getConnection<TState = unknown>(id: string): Connection<TState> | undefined;
  getConnections<TState = unknown>(tag?: string): Iterable<Connection<TState>>;
}
/** @deprecated */
export type Party = Room;

export interface ServerOptions {
  hibernate?: boolean;
}

/** The instance side of a `Party.Server` class. */
export interface Server {
  readonly options?: ServerOptions;
  getConnectionTags?(
    connection: Connection,
    context: ConnectionContext,
  ): string[] | Promise<string[]>;
  onStart?(): void | Promise<void>;
  onConnect?(connection: Connection, ctx: ConnectionContext): void | Promise<void>;
  onMessage?(message: WSMessage, sender: Connection): void | Promise<void>;
  onClose?(connection: Connection): void | Promise<void>;
  onError?(connection: Connection, error: Error): void | Promise<void>;
  onRequest?(req: Request): Response | Promise<Response>;
  onAlarm?(alarmInfo?: AlarmInvocationInfo): void | Promise<void>;
}

export interface FetchSocket extends StubSocket {
  request: Request;
}

export interface Cron {
  name: string;
  cron: string;
  scheduledTime: number;
  noRetry(): void;
}

/** The static side of a `Party.Server` class. */
export interface Worker {
  new (room: Room): Server;
  onFetch?(
    req: Request,
    lobby: FetchLobby,
    ctx: ExecutionContext,
  ): Response | undefined | null | Promise<Response | null | undefined>;
  onSocket?(socket: FetchSocket, lobby: FetchLobby, ctx: ExecutionContext): void | Promise<void>;
  onBeforeRequest?(
    req: Request,
    lobby: Lobby,
    ctx: ExecutionContext,
  ): Request | Response | Promise<Request | Response>;
  onBeforeConnect?(
    req: Request,
    lobby: Lobby,
    ctx: ExecutionContext,
  ): Request | Response | Promise<Request | Response>;
  onCron?(controller: Cron, lobby: CronLobby, ctx: ExecutionContext): unknown;
}

/** The legacy module-object form of a party. */
export interface PartyKitServer {
  unstable_onFetch?: Worker["onFetch"];
  onFetch?: Worker["onFetch"];
  onSocket?: Worker["onSocket"];
  onBeforeRequest?: Worker["onBeforeRequest"];
  onBeforeConnect?: Worker["onBeforeConnect"];
  onCron?: Worker["onCron"];
  onRequest?(req: Request, room: Room): Response | Promise<Response>;
  onAlarm?(room: Room, alarmInfo?: AlarmInvocationInfo): void | Promise<void>;
  onConnect?(connection: Connection, room: Room, ctx: ConnectionContext): void | Promise<void>;
  onMessage?(message: WSMessage, connection: Connection, room: Room): void | Promise<void>;
  onClose?(connection: Connection, room: Room): void | Promise<void>;
  onError?(connection: Connection, err: Error, room: Room): void | Promise<void>;
}

// PartyKit's deprecated aliases, kept so old code type-checks.
export type PartyRequest = Request;
export type PartyStorage = DurableStorage;
export type PartyKitStorage = DurableStorage;
export type PartyConnectionContext = ConnectionContext;
export type PartyKitContext = ConnectionContext;
export type PartyStub = Stub;
export type PartyContext = Context;
export type PartyFetchLobby = FetchLobby;
export type PartyLobby = Lobby;
export type PartyExecutionContext = ExecutionContext;
export type PartyConnection = Connection;
export type PartyServer = Server;
export type PartyWorker = Worker;
export type PartyKitRoom = Room;
export type PartyKitConnection = Connection;
export type PartyServerOptions = ServerOptions;

/**
 * What onAlarm is told about its run, as Durable Objects' `alarmInfo`: the handler runs at least
 * once, and again after it threw or its node died before the alarm was cleared.
 */
export interface AlarmInvocationInfo {
  /** Earlier attempts of this alarm on this node that threw. */
  readonly retryCount: number;
  /** True when this run retries an earlier one. */
  readonly isRetry: boolean;
}
