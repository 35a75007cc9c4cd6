/**
 * Self-fencing: a node may serve its rooms only until its lease could have run out in the
 * database. The deadline is measured on the monotonic clock from the moment each renewal was
 * *sent* (the database stamps the new expiry later, so it can only be further away), minus a
 * margin for clock-rate drift and the time it takes to close the rooms. Wall-clock jumps on
 * the node change nothing.
 */
import { performance } from "node:perf_hooks";

export class SelfFence {
  /** Monotonic ms; -Infinity until the first renewal succeeds. */
  #deadline = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Reported once per loss; a later renewal arms it again. */
  #reported = true;
  #stopped = false;

  constructor(
    readonly leaseMs: number,
    readonly marginMs: number,
    private readonly onLost: (reason: string) => void,
  ) {
    if (!(marginMs > 0 && marginMs < leaseMs)) {
      throw new RangeError(`the self-fence margin must be within (0, ${leaseMs}) ms`);
    }
  }

  /** The monotonic clock the deadline is kept on (ms). */
  static now(): number {
    return performance.now();
  }

  /** A renewal sent at `sentAt` (from `SelfFence.now()`) succeeded. */
  renewed(sentAt: number): void {
    if (this.#stopped) return;
    const deadline = sentAt + this.leaseMs - this.marginMs;
    if (deadline <= this.#deadline) return;
    this.#deadline = deadline;
    this.#reported = false;
    this.#arm();
  }

  /** True while the lease cannot have run out: the node may serve its rooms. */
  valid(): boolean {
    return SelfFence.now() < this.#deadline;
  }

  /** Monotonic ms left before the deadline (negative once past). */
  remaining(): number {
    return this.#deadline - SelfFence.now();
  }

  /**
   * The lease is known to be gone (the database no longer has it live): stop serving now, and
   * report it unless already reported. A later renewal (a rejoin) arms the fence again.
   */
  lose(reason: string): void {
    this.#deadline = -Infinity;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#reported) return;
    this.#reported = true;
    this.onLost(reason);
  }

  /** No more renewals will come (the node leaves): serve nothing from now on. */
  stop(): void {
    this.#stopped = true;
    this.#deadline = -Infinity;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#check(), Math.max(0, this.remaining()) + 1);
    // The fence never keeps a process alive by itself.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #check(): void {
    this.#timer = undefined;
    if (this.valid()) {
      this.#arm();
      return;
    }
    if (this.#reported) return;
    this.#reported = true;
    this.onLost("this node could not renew its lease in time");
  }
}
