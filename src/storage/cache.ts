/**
 * The clean half of a room's write-back cache: values known to equal what the driver holds, so a
 * read after a commit does not go back to the driver (for PostgreSQL, a network round trip). The
 * dirty half is the overlay (overlay.ts), which is never evicted: it is what is not durable yet.
 *
 * Bounded twice: per room and per process (one CacheBudget shared by every room of a provider).
 * Entries are kept in least-recently-used order (a Map re-inserted on each hit); past a bound the
 * oldest clean entries go, first in the room that grew, then in the others.
 */

/** What one cached key costs: its UTF-16 length twice over, its bytes, and a Map entry. */
const ENTRY_OVERHEAD = 64;

function costOf(key: string, value: Uint8Array | null): number {
  return key.length * 2 + (value === null ? 0 : value.byteLength) + ENTRY_OVERHEAD;
}

/** The process-wide bound, shared by every room of one storage provider. */
export class CacheBudget {
  used = 0;
  readonly #rooms = new Set<RoomCache>();

  constructor(
    readonly maxBytes: number,
    readonly maxRoomBytes: number,
  ) {}

  /** @internal */
  join(room: RoomCache): void {
    this.#rooms.add(room);
  }

  /** @internal */
  leave(room: RoomCache): void {
    this.#rooms.delete(room);
  }

  /** Evicts from other rooms until the process is back under its bound. */
  rebalance(grown: RoomCache): void {
    if (this.used <= this.maxBytes) return;
    grown.shrinkTo(0, () => this.used <= this.maxBytes);
    for (const room of this.#rooms) {
      if (this.used <= this.maxBytes) return;
      room.shrinkTo(0, () => this.used <= this.maxBytes);
    }
  }
}

export class RoomCache {
  /** key → bytes, or null for a key known to be absent. Iteration order: oldest first. */
  readonly #entries = new Map<string, Uint8Array | null>();
  #bytes = 0;

  constructor(readonly budget: CacheBudget) {
    budget.join(this);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** undefined: not cached; null: known absent. A hit becomes the most recently used. */
  get(key: string): Uint8Array | null | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: string, value: Uint8Array | null): void {
    this.delete(key);
    const cost = costOf(key, value);
    // A value larger than the room's whole bound is not worth caching.
    if (cost > this.budget.maxRoomBytes) return;
    this.#entries.set(key, value);
    this.#bytes += cost;
    this.budget.used += cost;
    if (this.#bytes > this.budget.maxRoomBytes) this.shrinkTo(this.budget.maxRoomBytes);
    this.budget.rebalance(this);
  }

  /** Replaces the value of a cached key; a key not cached stays out. */
  refresh(key: string, value: Uint8Array | null): void {
    if (this.#entries.has(key)) this.set(key, value);
  }

  delete(key: string): void {
    const old = this.#entries.get(key);
    if (old === undefined) return;
    this.#entries.delete(key);
    const cost = costOf(key, old);
    this.#bytes -= cost;
    this.budget.used -= cost;
  }

  /** deleteAll: every key of the room is gone, and nothing is known about absent ones. */
  clear(): void {
    this.budget.used -= this.#bytes;
    this.#bytes = 0;
    this.#entries.clear();
  }

  /** Frees everything and leaves the budget (the room was released). */
  dispose(): void {
    this.clear();
    this.budget.leave(this);
  }

  /** Evicts the oldest entries until the room holds at most `bytes` or `enough()` says stop. */
  shrinkTo(bytes: number, enough?: () => boolean): void {
    for (const [key, value] of this.#entries) {
      if (this.#bytes <= bytes || enough?.() === true) return;
      this.#entries.delete(key);
      const cost = costOf(key, value);
      this.#bytes -= cost;
      this.budget.used -= cost;
    }
  }
}
