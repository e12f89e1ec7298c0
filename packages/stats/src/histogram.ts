
/**
 * A histogram on a grid anchored at zero: bin k covers
 * [(start + k) * binWidth, (start + k + 1) * binWidth), and binWidth is a power
 * of two. So edges are exact binary fractions, zero is always an edge (folding
 * to |x| is exact), and two histograms always share a coarser common grid
 * (merging is exact). Counts are float64 (exact integers up to 2^53).
 *
 * This is what clipping searches need: `counts` and `edges()` (read as a
 * density by @nibble/pass-clipping's math, whose quantile serves percentile
 * clipping), and the exact `min`/`max` seen.
 */
export class Histogram {
  readonly counts: Float64Array;
  readonly binWidth: number;
  /** Grid index of the first bin: its lower edge is start * binWidth. */
  readonly start: number;
  /** Exact smallest and largest value counted (NaN if empty). */
  readonly min: number;
  readonly max: number;
  /** Number of values counted. */
  readonly count: number;

  constructor(counts: Float64Array, binWidth: number, start: number, min: number, max: number) {
    this.counts = counts;
    this.binWidth = binWidth;
    this.start = start;
    this.min = min;
    this.max = max;
    let n = 0;
    for (let i = 0; i < counts.length; i++) n += counts[i];
    this.count = n;
  }

  get bins(): number {
    return this.counts.length;
  }

  /** Lower edge of bin k (k = bins gives the upper edge of the last bin). */
  edge(k: number): number {
    return (this.start + k) * this.binWidth;
  }

  /** The bins + 1 edges. */
  edges(): Float64Array {
    const e = new Float64Array(this.bins + 1);
    for (let k = 0; k <= this.bins; k++) e[k] = this.edge(k);
    return e;
  }

  center(k: number): number {
    return (this.start + k + 0.5) * this.binWidth;
  }

  /**
   * The histogram of |x| on the same grid, starting at zero (the form TensorRT's
   * entropy calibration searches). A value exactly on a negative edge g * w lands
   * in the bin below |g| * w; only values on an edge move.
   */
  foldAbs(): Histogram {
    if (this.count === 0) return new Histogram(new Float64Array(this.bins), this.binWidth, 0, NaN, NaN);
    const top = Math.max(Math.abs(this.start), Math.abs(this.start + this.bins));
    const counts = new Float64Array(top);
    for (let k = 0; k < this.bins; k++) {
      const c = this.counts[k];
      if (c === 0) continue;
      const g = this.start + k;
      counts[g >= 0 ? g : -g - 1] += c;
    }
    const lo = this.min <= 0 && this.max >= 0 ? 0 : Math.min(Math.abs(this.min), Math.abs(this.max));
    const hi = Math.max(Math.abs(this.min), Math.abs(this.max));
    return new Histogram(counts, this.binWidth, 0, lo, hi);
  }

  /**
   * One histogram of everything the given ones counted (e.g. per-tensor from
   * per-channel), on the coarsest of their grids, widened further (exactly, by
   * powers of two) until it fits in `maxBins` (default: the largest input's bins).
   */
  static merge(histograms: readonly Histogram[], maxBins?: number): Histogram {
    const full = histograms.filter((h) => h.count > 0);
    if (full.length === 0) return histograms[0] ?? new Histogram(new Float64Array(0), 1, 0, NaN, NaN);
    const limit = Math.max(1, maxBins ?? Math.max(...histograms.map((h) => h.bins)));
    let width = Math.max(...full.map((h) => h.binWidth));
    const min = Math.min(...full.map((h) => h.min));
    const max = Math.max(...full.map((h) => h.max));
    while (Math.floor(max / width) - Math.floor(min / width) + 1 > limit) width *= 2;
    const gLo = Math.floor(min / width);
    const span = Math.floor(max / width) - gLo + 1;
    const start = gLo - Math.floor((limit - span) / 2);
    const counts = new Float64Array(limit);
    for (const h of full) {
      const f = width / h.binWidth;
      for (let k = 0; k < h.bins; k++) {
        if (h.counts[k] !== 0) counts[Math.floor((h.start + k) / f) - start] += h.counts[k];
      }
    }
    return new Histogram(counts, width, start, min, max);
  }
}

/** The smallest power of two >= x (x > 0, finite). */
export function pow2AtLeast(x: number): number {
  let w = 2 ** Math.ceil(Math.log2(x));
  while (w < x) w *= 2;
  while (w / 2 >= x) w /= 2;
  return w;
}
