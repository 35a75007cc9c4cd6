/**
 * The ordering rule of a room: events run in arrival order, and none runs while the room is held
 * (its instance is starting, or user code is inside blockConcurrencyWhile) or has no instance
 * (hibernated: the first queued event wakes it). Held events queue and drain in order.
 */
export class EventGate {
  private holds = 0;
  private queue: Array<() => void> = [];

  constructor(
    /** Whether the room has a started instance to deliver to. */
    private readonly isReady: () => boolean,
    /** Starts the instance; called when an event arrives for a room that has none. */
    private readonly wake: () => void,
  ) {}

  /** Nothing held, nothing queued, an instance ready: an event may run right now. */
  get open(): boolean {
    return this.holds === 0 && this.queue.length === 0 && this.isReady();
  }

  /** Nothing held and nothing queued (the instance may be gone). */
  get quiet(): boolean {
    return this.holds === 0 && this.queue.length === 0;
  }

  hold(): void {
    this.holds++;
  }

  /** Releases a hold and delivers what queued meanwhile. */
  release(): void {
    this.holds--;
    this.drain();
  }

  /** Releases a hold, delivering the queue on the next microtask (after the caller resumes). */
  releaseSoon(): void {
    this.holds--;
    queueMicrotask(() => this.drain());
  }

  /** Runs `fn` now, or once the gate opens, keeping arrival order. */
  run(fn: () => void): void {
    if (this.open) {
      fn();
      return;
    }
    this.queue.push(fn);
    if (!this.isReady()) this.wake();
  }

  /** Resolves when an event may run. */
  whenOpen(): Promise<void> {
    return this.open ? Promise.resolve() : new Promise((resolve) => this.run(resolve));
  }

  /** Drops what queued: the instance those events waited for failed to start. */
  clear(): void {
    this.queue = [];
  }

  private drain(): void {
    while (this.holds === 0 && this.isReady() && this.queue.length > 0) {
      const fn = this.queue.shift()!;
      fn();
    }
  }
}
