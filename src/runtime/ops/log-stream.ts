/** Log entries fanned out to `partyhouse tail` clients of the admin listener. */

/** One log line as an object: `time`, `level`, `message`, and `code`, `party`, `room`… */
export type LogEntry = Record<string, unknown> & { level: string; message: string };

export class LogStream {
  private readonly subscribers = new Set<(entry: LogEntry) => void>();

  /** True when someone listens: callers skip building entries otherwise. */
  get active(): boolean {
    return this.subscribers.size > 0;
  }

  publish(entry: LogEntry): void {
    for (const fn of this.subscribers) fn(entry);
  }

  /** Returns the unsubscribe function. */
  subscribe(fn: (entry: LogEntry) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}

const LEVELS = ["debug", "info", "warn", "error"];

/** Whether `entry` passes a tail's filters (`level` is the lowest level shown). */
export function matches(
  entry: LogEntry,
  filter: { party?: string; room?: string; level?: string },
): boolean {
  if (filter.party !== undefined && entry["party"] !== filter.party) return false;
  if (filter.room !== undefined && entry["room"] !== filter.room) return false;
  const min = LEVELS.indexOf(filter.level ?? "debug");
  return LEVELS.indexOf(entry.level) >= (min === -1 ? 0 : min);
}
