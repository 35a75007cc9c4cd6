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
});
