/**
 * The storage the core receives: one driver for the whole server, one RoomStorage per room.
 */
import { PartyhouseError, errorMessage } from "../core/errors.js";
import { defaultLimits } from "../core/limits.js";
import type { Limits } from "../core/limits.js";
import type { AlarmQuery, AlarmRow, RoomRef, StorageProvider } from "../core/api/storage-api.js";
import type { StorageLimits } from "./args.js";
import type { StorageDriver } from "./driver.js";
import { roomKey } from "./keys.js";
import { MemoryDriver } from "./memory.js";
import { PostgresDriver } from "./postgres.js";
import type { PostgresDriverOptions } from "./postgres.js";
import { checkPostgresUrl } from "./postgres-url.js";
import type { RoomStorageHooks } from "./room-engine.js";
import { CacheBudget, RoomCache } from "./cache.js";
import { RoomStorage, drain, idle, release } from "./room-storage.js";
import { SqliteDriver } from "./sqlite.js";

export type StorageProviderOptions =
  | {
      kind: "sqlite";
      /** The database file (e.g. `.partykit/state/storage.db`); parent folders are created. */
      path: string;
      /** "normal" (default) survives process crashes; "full" also power loss. See sqlite.ts. */
      synchronous?: "normal" | "full";
    }
  | { kind: "memory" }
  | ({
      kind: "postgres";
      /** `postgres://user:password@host:5432/database`; see PostgresDriverOptions. */
      url: string;
    } & Omit<PostgresDriverOptions, "url">);

export type StorageLimitOptions = Partial<
  Pick<Limits, "maxKeyBytes" | "maxValueBytes" | "maxCacheBytes" | "maxRoomCacheBytes">
>;

/**
 * Opens the storage named by `options`. The SQLite file is opened (and created) right away, so a
 * bad path fails here with PH_ERR_STORAGE_IO rather than on the first write. PostgreSQL connects
 * on first use (use `openStorageProvider` to connect and migrate before serving).
 *
 * @example
 * const storage = createStorageProvider({ kind: "sqlite", path: ".partykit/state/storage.db" });
 * const room = storage.open({ party: "main", room: "lobby" }, { onAlarmChange: (t) => schedule(t) });
 * await room.put("greeting", "hello");
 * await storage.close();
 */
export function createStorageProvider(
  options: StorageProviderOptions,
  limits?: StorageLimitOptions,
): StorageProvider {
  const checked = checkLimits(limits);
  switch (options.kind) {
    case "sqlite":
      if (typeof options.path !== "string" || options.path === "") {
        throw new PartyhouseError("PH_ERR_CONFIG", "storage.path must name the SQLite file.");
      }
      return new DriverStorageProvider(new SqliteDriver(options), checked);
    case "memory":
      return new DriverStorageProvider(new MemoryDriver(), checked);
    case "postgres":
      return new DriverStorageProvider(postgresDriver(options), checked);
    default:
      throw new PartyhouseError(
        "PH_ERR_CONFIG",
        `storage.kind must be "sqlite", "memory" or "postgres", got ${JSON.stringify((options as { kind: unknown }).kind)}.`,
      );
  }
}

/**
 * Like `createStorageProvider`, but for PostgreSQL it connects and creates or migrates the tables
 * first, so an unreachable database fails here with PH_ERR_STORAGE_IO naming the URL (without
 * its password) instead of on the first room's first write.
 *
 * @example
 * const storage = await openStorageProvider({ kind: "postgres", url: process.env.DATABASE_URL });
 */
export async function openStorageProvider(
  options: StorageProviderOptions,
  limits?: StorageLimitOptions,
): Promise<StorageProvider> {
  if (options.kind !== "postgres") return createStorageProvider(options, limits);
  const checked = checkLimits(limits);
  const driver = postgresDriver(options);
  try {
    await driver.ready();
  } catch (e) {
    await driver.close().catch(() => {});
    throw e;
  }
  return new DriverStorageProvider(driver, checked);
}

function postgresDriver(options: StorageProviderOptions & { kind: "postgres" }): PostgresDriver {
  const { kind: _kind, ...rest } = options;
  checkPostgresUrl(rest.url, "storage.url");
  return new PostgresDriver(rest);
}

/** A provider on any driver (for drivers that live outside this folder, like Postgres). */
export function providerFromDriver(
  driver: StorageDriver,
  limits?: StorageLimitOptions,
): StorageProvider {
  return new DriverStorageProvider(driver, checkLimits(limits));
}

interface OpenRoom {
  readonly storage: RoomStorage;
  hooks: RoomStorageHooks;
  /** Set by release(), cleared by a reopen: the entry is dropped once its writes are durable. */
  released: boolean;
}

class DriverStorageProvider implements StorageProvider {
  readonly #rooms = new Map<string, OpenRoom>();
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #budget: CacheBudget;

  constructor(
    private readonly driver: StorageDriver,
    private readonly limits: StorageLimits,
  ) {
    this.#budget = new CacheBudget(limits.maxCacheBytes, limits.maxRoomCacheBytes);
  }

  /**
   * The room's storage, the same object for as long as the provider lives, so writes still in
   * flight from an evicted instance are seen by the next one. Reopening swaps in the new hooks.
   */
  open(ref: RoomRef, hooks: RoomStorageHooks): RoomStorage {
    if (this.#closed) {
      throw new PartyhouseError("PH_ERR_STORAGE_CLOSED", "Storage is closed; cannot open a room.");
    }
    const id = roomKey(ref);
    const existing = this.#rooms.get(id);
    if (existing !== undefined) {
      existing.hooks = hooks;
      existing.released = false;
      return existing.storage;
    }
    const room: OpenRoom = {
      hooks,
      released: false,
      storage: new RoomStorage({
        driver: this.driver,
        ref: { party: ref.party, room: ref.room },
        limits: this.limits,
        hooks: () => room.hooks,
        isClosed: () => this.#closed,
        cache: new RoomCache(this.#budget),
      }),
    };
    this.#rooms.set(id, room);
    return room.storage;
  }

  /**
   * Forgets the room once everything it wrote is durable, so a server that sees many rooms come
   * and go holds memory only for the live ones. A reopen before that keeps the same object (its
   * writes in flight stay visible to the new instance).
   */
  release(ref: RoomRef): void {
    const id = roomKey(ref);
    const room = this.#rooms.get(id);
    if (room === undefined) return;
    room.released = true;
    const forget = () => {
      if (this.#rooms.get(id) === room && room.released && room.storage[idle]()) {
        this.#rooms.delete(id);
        room.storage[release]();
      }
    };
    if (room.storage[idle]()) forget();
    else room.storage[drain]().then(forget, forget);
  }

  async listAlarms(query?: AlarmQuery): Promise<AlarmRow[]> {
    if (this.#closed) {
      throw new PartyhouseError("PH_ERR_STORAGE_CLOSED", "Storage is closed; cannot list alarms.");
    }
    // Include alarms set moments ago that are not committed yet.
    await Promise.allSettled([...this.#rooms.values()].map((room) => room.storage[drain]()));
    try {
      return await this.driver.listAlarms(query);
    } catch (e) {
      throw new PartyhouseError("PH_ERR_STORAGE_IO", `Listing alarms failed: ${errorMessage(e)}`, {
        cause: e,
      });
    }
  }

  /**
   * Refuses new calls at once (they reject with PH_ERR_STORAGE_CLOSED), commits every write
   * issued before, then closes the driver. Rejects with the first commit error, if any, after
   * the driver is closed. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const results = await Promise.allSettled(
      [...this.#rooms.values()].map((room) => room.storage[drain]()),
    );
    try {
      await this.driver.close();
    } catch (e) {
      throw new PartyhouseError("PH_ERR_STORAGE_IO", `Closing storage failed: ${errorMessage(e)}`, {
        cause: e,
      });
    }
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }
}

function checkLimits(limits: StorageLimitOptions | undefined): StorageLimits {
  const checked = {
    maxKeyBytes: limits?.maxKeyBytes ?? defaultLimits.maxKeyBytes,
    maxValueBytes: limits?.maxValueBytes ?? defaultLimits.maxValueBytes,
    maxCacheBytes: limits?.maxCacheBytes ?? defaultLimits.maxCacheBytes,
    maxRoomCacheBytes: limits?.maxRoomCacheBytes ?? defaultLimits.maxRoomCacheBytes,
  };
  for (const [name, value] of Object.entries(checked)) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new PartyhouseError(
        "PH_ERR_CONFIG",
        `limits.${name} must be a positive integer, got ${String(value)}.`,
      );
    }
  }
  return Object.freeze(checked);
}
