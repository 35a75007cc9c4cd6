/**
 * What the admin page charts: messages per second over the last minutes (one sample every
 * `sampleMs`, `samples` kept), and the most recent errors with their codes.
 */
import type { LogEntry } from "./log-stream.js";

export interface Sample {
  /** Epoch ms at the end of the sample. */
  t: number;
  /** WebSocket messages (in + out) per second during the sample. */
  perSecond: number;
}

export class OpsHistory {
  /** Messages in and out since the start; the entry points add to it. */
  messages = 0;
  private last = 0;
  private lastAt = Date.now();
  readonly samples: Sample[] = [];
  readonly errors: LogEntry[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly sampleMs = 5000,
    private readonly keep = 60,
    private readonly keepErrors = 50,
  ) {}

  start(): void {
    this.stop();
    this.lastAt = Date.now();
    this.timer = setInterval(() => this.sample(), this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(): void {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.lastAt) / 1000);
    this.samples.push({ t: now, perSecond: (this.messages - this.last) / seconds });
    if (this.samples.length > this.keep) this.samples.shift();
    this.last = this.messages;
    this.lastAt = now;
  }

  error(entry: LogEntry): void {
    this.errors.push(entry);
    if (this.errors.length > this.keepErrors) this.errors.shift();
  }
}
