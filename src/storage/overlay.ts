/**
 * Writes that are issued but not yet durable, kept in memory so that a read observes every earlier
 * write of the room even when the caller did not await it (Durable Object semantics).
 *
 * A room holds a queue of layers, oldest first: those being committed (one, or several with a
 * pipelined driver), then the one still collecting this turn's writes. A transaction adds a
 * private layer on top until it finishes.
 * Lookups walk from the newest layer down; a layer with `deleteAll` hides everything below it.
 */
import type { Batch, Entry, KeyRange } from "./driver.js";
import { compareKeys, inRange } from "./keys.js";

/** A key's state in the overlay: bytes, deleted (null), or not mentioned (undefined). */
export type Shadow = Uint8Array | null | undefined;

export class Layer {
  /** key → serialized value, or null for a delete. */
  readonly writes = new Map<string, Uint8Array | null>();
  deleteAll = false;
  /** undefined: alarm untouched; null: removed; number: set (epoch ms). */
  alarm: number | null | undefined = undefined;
  /** True when a user call changed the alarm, so the scheduler must hear about it. */
  alarmChanged = false;
  /** Reads the commit must wait for (existence checks of deletes on an async driver). */
  readonly barriers: Promise<unknown>[] = [];
  /** Set once the layer was handed to the driver; later writes open a new layer. */
  sealed = false;
  /**
   * True once a write without `allowUnconfirmed` landed here: the room's output gate holds what
   * it sends after that write until this layer is durable.
   */
  gating = false;
  /** Keys written with `noCache`: dropped from the clean cache once durable. */
  noCache: Set<string> | undefined;
  readonly durable: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor() {
    this.durable = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Unawaited writes whose commit fails must not crash the process with an unhandled
    // rejection; the failure is reported through the awaited promises and onCommitError.
    this.durable.catch(() => {});
  }

  put(key: string, value: Uint8Array): void {
    this.writes.set(key, value);
  }

  delete(key: string): void {
    this.writes.set(key, null);
  }

  clear(): void {
    this.writes.clear();
    this.deleteAll = true;
  }

  setAlarm(time: number | null): void {
    this.alarm = time;
    this.alarmChanged = true;
  }

  /** Records how a write was issued (its `allowUnconfirmed` and `noCache` options). */
  note(
    options: { allowUnconfirmed?: boolean; noCache?: boolean } | undefined,
    keys?: Iterable<string>,
  ): void {
    if (options?.allowUnconfirmed !== true) this.gating = true;
    if (options?.noCache === true && keys !== undefined) {
      this.noCache ??= new Set();
      for (const key of keys) this.noCache.add(key);
    }
  }

  /** Copies a finished transaction's writes into this layer, as if they had been issued here. */
  absorb(txn: Layer): void {
    this.gating = true;
    for (const [key, value] of txn.writes) this.writes.set(key, value);
    if (txn.alarm !== undefined) this.alarm = txn.alarm;
    if (txn.alarmChanged) this.alarmChanged = true;
    this.barriers.push(...txn.barriers);
  }

  /** The driver's batch; `epoch` fences it (the distributed mode), `chain` orders it. */
  toBatch(chain: number, epoch: number | undefined): Batch {
    const deletes: string[] = [];
    const puts: Entry[] = [];
    for (const [key, value] of this.writes) {
      if (value === null) deletes.push(key);
      else puts.push([key, value]);
    }
    const batch = { deleteAll: this.deleteAll, deletes, puts, alarm: this.alarm, chain };
    return epoch === undefined ? batch : { ...batch, fence: { epoch } };
  }
}

/** Layers newest first: the optional transaction layer, then the room's queue from its end. */
function* newestFirst(layers: readonly Layer[], top: Layer | undefined): Generator<Layer> {
  if (top !== undefined) yield top;
  for (let i = layers.length - 1; i >= 0; i--) yield layers[i]!;
}

/** The overlay's answer for `key`; undefined means the driver has the answer. */
export function lookup(layers: readonly Layer[], top: Layer | undefined, key: string): Shadow {
  // Plain loops: this runs on every read and every delete.
  if (top !== undefined) {
    const value = probe(top, key);
    if (value !== undefined) return value;
  }
  for (let i = layers.length - 1; i >= 0; i--) {
    const value = probe(layers[i]!, key);
    if (value !== undefined) return value;
  }
  return undefined;
}

function probe(layer: Layer, key: string): Shadow {
  const value = layer.writes.get(key);
  if (value !== undefined) return value;
  return layer.deleteAll ? null : undefined;
}

/** The overlay's alarm; undefined means the driver has the answer. */
export function lookupAlarm(
  layers: readonly Layer[],
  top: Layer | undefined,
): number | null | undefined {
  for (const layer of newestFirst(layers, top)) {
    if (layer.alarm !== undefined) return layer.alarm;
  }
  return undefined;
}

/**
 * The overlay's entries inside `range` (newest state of each key), and whether a pending
 * deleteAll hides every stored key so the driver need not be asked at all.
 */
export function shadowsInRange(
  layers: readonly Layer[],
  top: Layer | undefined,
  range: KeyRange,
): { shadows: Map<string, Uint8Array | null>; hidesStored: boolean } {
  const shadows = new Map<string, Uint8Array | null>();
  for (const layer of newestFirst(layers, top)) {
    for (const [key, value] of layer.writes) {
      if (!shadows.has(key) && inRange(key, range)) shadows.set(key, value);
    }
    if (layer.deleteAll) return { shadows, hidesStored: true };
  }
  return { shadows, hidesStored: false };
}

/**
 * Merges stored entries with overlay shadows and applies order and limit. `stored` must have been
 * fetched with a limit raised by `shadows.size`, since each shadow can hide one stored entry.
 */
export function mergeList(
  stored: readonly Entry[],
  shadows: ReadonlyMap<string, Uint8Array | null>,
  range: KeyRange,
): Entry[] {
  if (shadows.size === 0)
    return range.limit === undefined ? [...stored] : stored.slice(0, range.limit);
  const merged = new Map<string, Uint8Array>(stored);
  for (const [key, value] of shadows) {
    if (value === null) merged.delete(key);
    else merged.set(key, value);
  }
  const entries = [...merged].sort((a, b) => compareKeys(a[0], b[0]));
  if (range.reverse) entries.reverse();
  return range.limit === undefined ? entries : entries.slice(0, range.limit);
}
