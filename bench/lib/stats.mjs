// Latency histogram (1 µs buckets up to 4 s, then one overflow bucket) and small statistics helpers.

const BUCKETS = 4_000_000;

export class Histogram {
  constructor() {
    this.counts = new Uint32Array(BUCKETS + 1);
    this.count = 0;
  }

  /** @param {number} us */
  record(us) {
    const i = us < 0 ? 0 : us >= BUCKETS ? BUCKETS : Math.floor(us);
    this.counts[i]++;
    this.count++;
  }

  /** The value at percentile `p` (0–100), in µs; undefined when empty. */
  percentile(p) {
    if (this.count === 0) return undefined;
    const target = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i <= BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= target) return i;
    }
    return BUCKETS;
  }
}

/** Percentile of an array of numbers (nearest rank). */
export function percentileOf(values, p) {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function median(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x));
  if (v.length === 0) return undefined;
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
