/**
 * The output gate of a room, as Durable Objects have it: a storage write resolves as soon as it is
 * in the room's cache, and every message the room sends after it waits until the write is
 * durable. A client therefore never sees a reply to a write that a crash then loses.
 *
 * Messages are released in the order they were sent. One sent while nothing is pending and nothing
 * is held leaves at once (the hot path: one call and one length check). If a commit fails, every
 * held message is discarded and the room is told, so it can reset.
 */

import { PartyhouseError } from "../errors.js";

interface Held {
  readonly send: () => void;
  /** Told when the message is discarded instead (a reply waiting on the gate fails). */
  readonly fail?: (error: unknown) => void;
  ready: boolean;
}

export class OutputGate {
  #queue: Held[] = [];
  /** Every layer behind a failed commit rejects with the same error: handle it once. */
  #lastFailure: unknown = undefined;

  constructor(
    /** The durability of the newest confirmed write not yet durable, or undefined. */
    private readonly barrier: () => Promise<void> | undefined,
    /** A commit the held messages waited for failed: they are gone; reset the room. */
    private readonly onFailure: (error: unknown) => void,
    /**
     * False once the node lost the room (a self-fence): held messages are then dropped, not sent,
     * even those whose commit landed before the lease ran out (a paused owner sends nothing).
     */
    private readonly mayRelease?: () => boolean,
  ) {}

  /** True when a message may leave now. */
  get open(): boolean {
    return this.#queue.length === 0 && this.barrier() === undefined;
  }

  /** How many messages wait for durability (inspection). */
  get held(): number {
    return this.#queue.length;
  }

  /** Sends `send` now if the gate is open, else once every write before it is durable. */
  run(send: () => void, fail?: (error: unknown) => void): void {
    const barrier = this.barrier();
    if (barrier === undefined && this.#queue.length === 0) {
      send();
      return;
    }
    const held: Held = fail ? { send, fail, ready: false } : { send, ready: false };
    held.ready = barrier === undefined;
    this.#queue.push(held);
    if (barrier !== undefined) {
      barrier.then(
        () => {
          held.ready = true;
          this.#drain();
        },
        (e: unknown) => this.#fail(e),
      );
    }
  }

  /**
   * What a reply that is not a socket message (an HTTP Response) must wait for: the writes issued
   * so far and the messages held before it. Undefined when it may leave at once.
   */
  settled(): Promise<void> | undefined {
    if (this.open) return undefined;
    return new Promise<void>((resolve, reject) => this.run(resolve, reject));
  }

  /** Forgets what is held (the room was reset or closed for good). */
  discard(): void {
    this.#queue = [];
  }

  #drain(): void {
    let i = 0;
    while (i < this.#queue.length && this.#queue[i]!.ready) i++;
    if (i === 0) return;
    if (this.mayRelease?.() === false) {
      const dropped = this.#queue;
      this.#queue = [];
      const gone = new PartyhouseError(
        "PH_ERR_CLUSTER_UNAVAILABLE",
        "this node lost the room's lease; the reply was dropped",
        { status: 503 },
      );
      for (const held of dropped) held.fail?.(gone);
      return;
    }
    const ready = this.#queue.splice(0, i);
    for (const held of ready) held.send();
    // Messages queued behind a released one with no barrier of their own are ready now too.
    if (this.#queue.length > 0 && this.#queue[0]!.ready) this.#drain();
  }

  #fail(error: unknown): void {
    if (error === this.#lastFailure) return;
    this.#lastFailure = error;
    const dropped = this.#queue;
    this.#queue = [];
    for (const held of dropped) held.fail?.(error);
    this.onFailure(error);
  }
}
