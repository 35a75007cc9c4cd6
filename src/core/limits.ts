/** Every bounded resource and its default. All are overridable in config (`limits`). */
export interface Limits {
  /** Largest WebSocket message a client may send (bytes). Cloudflare's limit is 1 MiB. */
  maxMessageBytes: number;
  /** Bytes queued to one socket before it counts as a slow consumer and is closed. */
  maxBufferedBytes: number;
  /** Connections one room accepts; more are closed with 1013. */
  maxConnectionsPerRoom: number;
  /**
   * Longest room id, in characters. PartyKit has no limit of its own (ids of thousands of
   * characters work there, say a page URL as the room); Node's 16 KiB header limit bounds the
   * request line anyway.
   */
  maxRoomIdLength: number;
  /** Storage key size (UTF-8 bytes), PartyKit's default. */
  maxKeyBytes: number;
  /** Storage value size (serialized bytes), PartyKit's default 128 KiB. */
  maxValueBytes: number;
  /** Serialized conn.setState size, Cloudflare's attachment limit (2 KiB). */
  maxStateBytes: number;
  /** Idle time before a room without connections is evicted (ms). */
  idleTimeoutMs: number;
  /** Idle time before a hibernating room's instance is dropped (ms). */
  hibernateAfterMs: number;
  /**
   * Clean (already durable) storage values kept in memory by the whole process, in bytes. Values
   * not yet durable are never evicted and do not count.
   */
  maxCacheBytes: number;
  /** The same bound for one room. */
  maxRoomCacheBytes: number;

  // ---- Hardening: what one client or one room may hold (see README "Limits and hardening") ----

  /** Node's `headersTimeout`: a client must finish its request headers within this (ms). */
  headersTimeoutMs: number;
  /** Node's `requestTimeout`: a client must finish sending its whole request within this (ms). */
  requestTimeoutMs: number;
  /** A WebSocket ping goes out this often (ms); 0 turns the heartbeat off. */
  heartbeatIntervalMs: number;
  /** A peer that has not answered a ping within this is terminated (ms). */
  heartbeatTimeoutMs: number;
  /** TCP connections the process accepts; past it HTTP gets 503 and WebSocket 1013. */
  maxConnections: number;
  /** TCP connections from one remote address; past it HTTP gets 503 and WebSocket 1013. */
  maxConnectionsPerIp: number;
  /** Messages a socket may send before its onConnect finished; past it the socket is closed (1008). */
  maxPendingMessages: number;
  /** Bytes of those messages; past it the socket is closed (1008). */
  maxPendingBytes: number;
  /** onStart must settle within this (ms), else the request fails (500) and the room is reset. */
  startTimeoutMs: number;
  /**
   * An upgrade must be decided (onBeforeConnect) and a connection's getConnectionTags/onConnect
   * must settle within this (ms); else the socket is refused or closed (1011) and the room reset.
   */
  connectTimeoutMs: number;
  /**
   * `room.blockConcurrencyWhile(fn)` must settle within this (ms): past it the call rejects and
   * the room is reset, as Cloudflare resets an object whose blockConcurrencyWhile runs 30 s.
   */
  blockConcurrencyTimeoutMs: number;
}

export const defaultLimits: Readonly<Limits> = Object.freeze({
  maxMessageBytes: 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxConnectionsPerRoom: 32_768,
  maxRoomIdLength: 8192,
  maxKeyBytes: 2048,
  maxValueBytes: 128 * 1024,
  maxStateBytes: 2048,
  idleTimeoutMs: 30_000,
  hibernateAfterMs: 10_000,
  maxCacheBytes: 256 * 1024 * 1024,
  maxRoomCacheBytes: 16 * 1024 * 1024,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  heartbeatIntervalMs: 30_000,
  heartbeatTimeoutMs: 30_000,
  maxConnections: 50_000,
  maxConnectionsPerIp: 5_000,
  maxPendingMessages: 1_000,
  maxPendingBytes: 4 * 1024 * 1024,
  startTimeoutMs: 30_000,
  connectTimeoutMs: 30_000,
  blockConcurrencyTimeoutMs: 30_000,
});

/** Limits where 0 means "off" rather than "nothing allowed". */
export const zeroDisables: ReadonlySet<keyof Limits> = new Set(["heartbeatIntervalMs"]);
