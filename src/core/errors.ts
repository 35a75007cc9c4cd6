/**
 * Every error partyhouse raises carries a stable code. The table below is the one place they are
 * documented; a test checks that each code used in src/ is listed here.
 */
export const ErrorCodes = {
  PH_ERR_CONFIG:
    "The project config (partykit.json or flags) is invalid; the message names the field.",
  PH_ERR_ENTRY_NOT_FOUND: "The party entry file named in the config does not exist.",
  PH_ERR_BUNDLE: "esbuild could not bundle a party; the message carries esbuild's diagnostics.",
  PH_ERR_PARTY_EXPORT:
    "A party module's default export is neither a Party.Server class nor a module object.",
  PH_ERR_PARTY_NOT_FOUND: "The URL names a party that is not in the config (answered with 404).",
  PH_ERR_ROOM_ID: "The room id is empty, too long or has a character partyhouse does not accept.",
  PH_ERR_ON_START:
    "The room's onStart threw; the triggering request fails and the next one retries.",
  PH_ERR_ON_CONNECT:
    "A connection failed while connecting (onStart, getConnectionTags or onConnect threw); closed with 1011.",
  PH_ERR_HANDLER:
    "A room handler (onMessage, onClose, onError, onAlarm, listeners) threw; the room keeps serving.",
  PH_ERR_ON_REQUEST:
    "onRequest threw; answered with 500 (or the error's numeric code) and the message.",
  PH_ERR_NO_ON_REQUEST: "An HTTP request reached a party that has no onRequest handler.",
  PH_ERR_BEFORE: "onBeforeConnect or onBeforeRequest threw; answered with 401 and the message.",
  PH_ERR_TAGS: "getConnectionTags returned an invalid tag list.",
  PH_ERR_STATE_TOO_LARGE: "conn.setState was given a value larger than the state size limit.",
  PH_ERR_STATE_CLONE: "conn.setState was given a value that cannot be structured-cloned.",
  PH_ERR_MESSAGE_TOO_LARGE:
    "A client sent a WebSocket message larger than maxMessageBytes (closed with 1009).",
  PH_ERR_SLOW_CONSUMER:
    "A client stopped reading and its send buffer passed maxBufferedBytes (closed with 1008).",
  PH_ERR_TOO_MANY_CONNECTIONS:
    "A room already holds maxConnectionsPerRoom connections (closed with 1013).",
  PH_ERR_STORAGE_KEY:
    "A storage key is not a string, is longer than maxKeyBytes or holds a lone UTF-16 surrogate.",
  PH_ERR_STORAGE_VALUE:
    "A storage value is undefined, cannot be structured-cloned or is larger than maxValueBytes.",
  PH_ERR_STORAGE_BATCH: "A storage call named more keys than the Durable Object API allows (128).",
  PH_ERR_STORAGE_OPTIONS:
    "A storage call got invalid options (list() with both start and startAfter, a limit that is not a positive integer).",
  PH_ERR_STORAGE_TXN:
    "A storage transaction was used after it rolled back or after its closure returned.",
  PH_ERR_STORAGE_IO: "The storage backend failed to read or commit.",
  PH_ERR_STORAGE_CLOSED: "Storage was used after the server shut down.",
  PH_ERR_ALARM: "setAlarm was given something other than a positive number or valid Date.",
  PH_ERR_STUB: "A party stub was called with a bad path or for a party that does not exist.",
  PH_ERR_ROOM_RESET:
    "A room was reset (a fault in its code, or a failed storage commit): messages held for durability were discarded, its sockets closed with 1011, its storage kept. A request or connection still in it fails; retry, the next one starts a fresh instance.",
  PH_ERR_NOT_OWNER:
    "The room is owned by another node and this node cannot reach it (answered with 503; retry).",
  PH_ERR_NODE_AUTH:
    "A request claimed to come from another node (x-partyhouse-node-* headers) without a valid, fresh signature (answered with 403). Give every node the same PARTYHOUSE_CLUSTER_SECRET and keep their clocks within 30 s.",
  PH_ERR_FORWARD:
    "Forwarding a request to the room's owner failed after the owner started answering (the connection was cut); the client should retry.",
  PH_ERR_FENCED:
    "A storage commit carried an ownership epoch that is no longer the room's (another node took the room over): it changed nothing, the room's held messages were discarded and the room was reset here. Retry: the request reaches the new owner.",
  PH_ERR_CLUSTER_UNAVAILABLE:
    "This node cannot confirm its cluster membership (the database is unreachable or its lease ran out), so it serves no room (503, sockets closed with 1012). It rejoins once the database answers; check PARTYHOUSE_DATABASE_URL and the database.",
  PH_ERR_SHUTDOWN: "The server is shutting down (sockets closed with 1012).",
  PH_ERR_WORKER_STUCK:
    "A worker of --workers has not run its event loop for PARTYHOUSE_STUCK_MS (a party blocking it, named as the room last entered); the supervisor kills it, marks it dead and starts a new one.",
  PH_ERR_WORKER_MEMORY:
    "A worker of --workers passed --max-memory (PARTYHOUSE_MAX_MEMORY); the supervisor drains it (1012) and starts a new one.",
  PH_ERR_WORKER_EXIT:
    "A worker of --workers exited unexpectedly (crash, kill, out of memory); its rooms were freed at once and a new worker started.",
  PH_ERR_SOCKETIO_OPTIONS:
    "createServer (partyhouse/socket.io) got no setup function, or options that are not an object.",
  PH_ERR_SOCKETIO_TRANSPORT:
    "A Socket.IO party got a request from a server adapter that does not hand over Node's raw req/res and upgrade socket.",
  PH_ERR_NOT_AN_UPGRADE:
    "A handler answered a plain HTTP request with a 101 WebSocket response (a WebSocketPair end); answered 500. Return it only for requests with Upgrade: websocket.",
  PH_ERR_AI_NOT_CONFIGURED:
    'room.context.ai was used but no AI endpoint is configured: set "ai": true in partykit.json and PARTYHOUSE_AI_URL.',
  PH_ERR_AI:
    "The AI endpoint room.context.ai forwards to failed, or ai.run() got inputs it cannot forward (text generation and embeddings are supported).",
  PH_ERR_INIT_INSTALL: "partyhouse init wrote the project but its npm install failed.",
  PH_ERR_ADDRESS_IN_USE:
    "The port is taken by another process: stop it, or pick another port with -p/--port or PORT.",
  PH_ERR_STATE_LOCKED:
    "Another partyhouse process is using the same state folder (its pid is in the lock file).",
  PH_ERR_CRON_FORBIDDEN:
    "/__scheduled__ in start needs PARTYHOUSE_CRON_TOKEN as a bearer token, or a loopback client.",
  PH_ERR_CRON_UNKNOWN: "/__scheduled__ named a cron that is not in the config's crons (404).",
  PH_ERR_HTTPS: "--https needs readable --https-key-path and --https-cert-path files.",
  PH_ERR_ARTIFACT:
    "The build artifact (partyhouse build) is missing files or does not match its manifest.",
  PH_ERR_OPS_FORBIDDEN:
    "/__partyhouse/metrics in start needs PARTYHOUSE_METRICS_TOKEN as a bearer token, or a loopback client.",
  PH_ERR_ROOM_FAULT:
    "A room's code failed outside any handler (an unhandled rejection or uncaught exception); that room was reset (sockets closed with 1011, storage kept). Await your promises and catch in timers.",
  PH_ERR_UNATTRIBUTED_FAULT:
    "An unhandled rejection or uncaught exception that no room can be blamed for; the process keeps running. Find it by its stack and catch it.",
  PH_ERR_TIMEOUT:
    "onStart, onConnect or an upgrade did not settle within startTimeoutMs/connectTimeoutMs; it failed (500 / 1011) and the room was reset.",
  PH_ERR_BAD_REQUEST:
    "A malformed request: a Host header that is not a host[:port], a request target that is not a canonical path (backslashes, dot segments); answered with 400.",
  PH_ERR_CONNECTION_LIMIT:
    "The process holds maxConnections connections, or the client's address maxConnectionsPerIp; answered with 503 (HTTP) or closed with 1013 (WebSocket).",
  PH_ERR_PENDING_LIMIT:
    "A socket sent more than maxPendingMessages/maxPendingBytes before its onConnect finished; closed with 1008.",
  PH_ERR_INTERNAL: "A bug in partyhouse; please report it with the log line.",
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** An error with a stable code and, where it reaches a client, the HTTP status or close code. */
export class PartyhouseError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PartyhouseError";
    this.code = code;
    this.status = options?.status ?? 500;
  }
}

/** The text of any thrown value, as PartyKit shows it: the message, never a stack. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
