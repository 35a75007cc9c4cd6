/**
 * The `txn` object handed to `storage.transaction(closure)`. Its writes collect in a private layer
 * that only the transaction reads through; when the closure returns they join the room's next
 * commit in one piece, and when it throws or calls `rollback()` they are dropped.
 */
import { PartyhouseError } from "../core/errors.js";
import type {
  DurableStorageTransaction,
  GetOptions,
  ListOptions,
  PutOptions,
  SetAlarmOptions,
} from "../core/api/storage-api.js";
import type { StorageLimits } from "./args.js";
import { checkKeyArgs, encodePutArgs, toAlarmTime } from "./args.js";
import { toKeyRange } from "./keys.js";
import { Layer } from "./overlay.js";
import type { RoomEngine } from "./room-engine.js";

export class StorageTransaction implements DurableStorageTransaction {
  readonly #layer = new Layer();
  #state: "open" | "rolledBack" | "ended" = "open";

  constructor(
    private readonly core: RoomEngine,
    private readonly limits: StorageLimits,
    private readonly ensureOpen: () => void,
  ) {}

  get<T = unknown>(key: string, options?: GetOptions): Promise<T | undefined>;
  get<T = unknown>(keys: string[], options?: GetOptions): Promise<Map<string, T>>;
  get(keyOrKeys: string | string[], _options?: GetOptions): Promise<unknown> {
    return this.#run("get", () => {
      const keys = checkKeyArgs(keyOrKeys, this.limits, "get");
      return Array.isArray(keyOrKeys)
        ? this.core.getMany(keys, this.#layer)
        : this.core.getOne(keys[0]!, this.#layer);
    });
  }

  list<T = unknown>(options: ListOptions = {}): Promise<Map<string, T>> {
    return this.#run("list", () => this.core.list(toKeyRange(options), this.#layer)) as Promise<
      Map<string, T>
    >;
  }

  put<T>(key: string, value: T, options?: PutOptions): Promise<void>;
  put<T>(entries: Record<string, T>, options?: PutOptions): Promise<void>;
  put(keyOrEntries: unknown, value?: unknown, _options?: PutOptions): Promise<void> {
    return this.#run("put", () => {
      for (const [key, bytes] of encodePutArgs(keyOrEntries, value, this.limits)) {
        this.#layer.put(key, bytes);
      }
    });
  }

  delete(key: string, options?: PutOptions): Promise<boolean>;
  delete(keys: string[], options?: PutOptions): Promise<number>;
  delete(keyOrKeys: string | string[], _options?: PutOptions): Promise<boolean | number> {
    return this.#run("delete", async () => {
      const keys = checkKeyArgs(keyOrKeys, this.limits, "delete");
      const count = await this.core.deleteKeys(keys, this.#layer, this.#layer);
      return Array.isArray(keyOrKeys) ? count : count > 0;
    });
  }

  rollback(): void {
    if (this.#state === "rolledBack") return;
    this.#check("rollback");
    this.#state = "rolledBack";
  }

  getAlarm(_options?: GetOptions): Promise<number | null> {
    return this.#run("getAlarm", () => this.core.getAlarm(this.#layer));
  }

  setAlarm(scheduledTime: number | Date, _options?: SetAlarmOptions): Promise<void> {
    return this.#run("setAlarm", () => {
      this.#layer.setAlarm(toAlarmTime(scheduledTime, Date.now()));
    });
  }

  deleteAlarm(_options?: SetAlarmOptions): Promise<void> {
    return this.#run("deleteAlarm", () => {
      this.#layer.setAlarm(null);
    });
  }

  /** Ends the transaction; returns the writes to commit, or null after a rollback or none. */
  end(): Layer | null {
    const committed = this.#state === "open";
    this.#state = "ended";
    const layer = this.#layer;
    return committed && (layer.writes.size > 0 || layer.alarm !== undefined) ? layer : null;
  }

  #check(op: string): void {
    this.ensureOpen();
    if (this.#state === "rolledBack") {
      throw new PartyhouseError(
        "PH_ERR_STORAGE_TXN",
        `Cannot ${op}() on a rolled back transaction.`,
      );
    }
    if (this.#state === "ended") {
      throw new PartyhouseError(
        "PH_ERR_STORAGE_TXN",
        `Cannot ${op}() on a transaction that has already committed: did you keep \`txn\` ` +
          "outside of the closure? Use `storage` there instead.",
      );
    }
  }

  #run<T>(op: string, fn: () => T | Promise<T>): Promise<T> {
    try {
      this.#check(op);
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    }
  }
}
