import { errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import type { AlarmRow } from "../api/storage-api.js";

/** setTimeout's longest delay; a later alarm re-arms itself when this one fires. */
const MAX_DELAY = 2 ** 31 - 1;
/** Durable Objects retry a throwing alarm with exponential backoff from 2 s, up to six times. */
const RETRY_BASE_MS = 2000;
const MAX_RETRIES = 6;

interface Pending {
  time: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  retries: number;
}

/**
 * Keeps one timer per room alarm. The alarm itself is a storage row (so it survives restarts);
 * this only wakes the room at the right time and retries a throwing onAlarm.
 */
export class AlarmScheduler {
  private readonly pending = new Map<string, Pending>();
  private stopped = false;

  constructor(
    /**
     * Runs the room's onAlarm (`retries`: earlier failed attempts). Resolving to false means the
     * room lives on another node now: the timer is forgotten and the stored alarm left to its owner.
     */
    private readonly fire: (
      party: string,
      room: string,
      time: number,
      retries: number,
    ) => Promise<boolean | void>,
    private readonly clear: (party: string, room: string, time: number) => Promise<void>,
    private readonly log: Logger,
    private readonly retryBaseMs = RETRY_BASE_MS,
  ) {}

  /** Called when a room's alarm row changes (null: deleted). */
  set(party: string, room: string, time: number | null): void {
    const key = `${party}\u0000${room}`;
    const existing = this.pending.get(key);
    if (existing?.timer !== undefined) clearTimeout(existing.timer);
    if (time === null || this.stopped) {
      this.pending.delete(key);
      return;
    }
    const entry: Pending = { time, timer: undefined, retries: 0 };
    this.pending.set(key, entry);
    this.arm(key, party, room, entry, time - Date.now());
  }

  /** Schedules rows read from storage, leaving alone rooms whose alarm is already known. */
  load(rows: readonly AlarmRow[]): void {
    for (const row of rows) {
      if (!this.pending.has(`${row.party}\u0000${row.room}`))
        this.set(row.party, row.room, row.time);
    }
  }

  has(party: string, room: string): boolean {
    return this.pending.has(`${party}\u0000${room}`);
  }

  /** Alarms with a timer (for the inspection API). */
  get size(): number {
    return this.pending.size;
  }

  /** Rooms whose alarm is due or running keep the room from being evicted. */
  isDue(party: string, room: string, now: number): boolean {
    const entry = this.pending.get(`${party}\u0000${room}`);
    return entry !== undefined && entry.time <= now;
  }

  stop(): void {
    this.stopped = true;
    this.cancelAll();
  }

  /**
   * Forgets every timer but keeps scheduling (a node that stopped serving its rooms: whoever owns
   * them next runs their alarms; a fire already under way finds its entry gone and stops there).
   */
  cancelAll(): void {
    for (const entry of this.pending.values()) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
    }
    this.pending.clear();
  }

  private arm(key: string, party: string, room: string, entry: Pending, delay: number): void {
    const wait = Math.max(0, Math.min(delay, MAX_DELAY));
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (this.pending.get(key) !== entry || this.stopped) return;
      const left = entry.time - Date.now();
      if (left > 0) {
        this.arm(key, party, room, entry, left);
        return;
      }
      void this.run(key, party, room, entry);
    }, wait);
  }

  private async run(key: string, party: string, room: string, entry: Pending): Promise<void> {
    try {
      const fired = await this.fire(party, room, entry.time, entry.retries);
      if (fired === false) {
        if (this.pending.get(key) === entry) this.pending.delete(key);
        return;
      }
    } catch (e) {
      if (this.pending.get(key) !== entry || this.stopped) return;
      if (entry.retries >= MAX_RETRIES) {
        this.log.error(
          "PH_ERR_HANDLER",
          `onAlarm for ${party}/${room} failed ${entry.retries + 1} times; giving up: ${errorMessage(e)}`,
        );
        this.pending.delete(key);
        await this.clear(party, room, entry.time).catch(() => {});
        return;
      }
      const delay = this.retryBaseMs * 2 ** entry.retries;
      entry.retries++;
      this.log.error(
        "PH_ERR_HANDLER",
        `onAlarm for ${party}/${room} threw (${errorMessage(e)}); retrying in ${delay} ms`,
      );
      this.arm(key, party, room, entry, delay);
      return;
    }
    // Only forget the alarm if onAlarm did not set a new one meanwhile.
    if (this.pending.get(key) === entry) this.pending.delete(key);
    await this.clear(party, room, entry.time).catch((e: unknown) =>
      this.log.error(
        "PH_ERR_STORAGE_IO",
        `could not clear the fired alarm of ${party}/${room}: ${errorMessage(e)}`,
      ),
    );
  }
}
