/**
 * Durable Object storage for partyhouse: `createStorageProvider` is what the program wiring
 * needs; the driver types are for writing another backend.
 */
export { createStorageProvider, openStorageProvider, providerFromDriver } from "./provider.js";
export type { StorageLimitOptions, StorageProviderOptions } from "./provider.js";
export { RoomStorage } from "./room-storage.js";
export type { RoomStorageHooks } from "./room-engine.js";
export { MAX_BATCH_KEYS } from "./args.js";
export type { StorageLimits } from "./args.js";
export type { Batch, Entry, KeyRange, MaybePromise, StorageDriver } from "./driver.js";
export { SqliteDriver } from "./sqlite.js";
export type { SqliteDriverOptions } from "./sqlite.js";
export { MemoryDriver } from "./memory.js";
export { PostgresDriver } from "./postgres.js";
export type { PostgresDriverOptions } from "./postgres.js";
export { compareKeys, toKeyRange } from "./keys.js";
