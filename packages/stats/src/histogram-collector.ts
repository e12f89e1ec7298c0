import { NibbleError } from '@nibble/ir';
import { asStatsInput, checkChannels, describeWhere, nonFinite, splitAtAxis, type CollectorInput } from './channels';
import type { CollectorOptions, StatsCollector } from './collector';
import { Histogram, pow2AtLeast } from './histogram';

export interface HistogramOptions extends CollectorOptions {
  /** Bins per histogram (default 2048). */
  bins?: number;
}

export const DEFAULT_HISTOGRAM_BINS = 2048;

/** Histograms, one per channel (one for axis null). */
export interface Histograms {
  readonly axis: number | null;
  readonly channels: number;
  readonly histograms: readonly Histogram[];
}

/** Width used when the first values of a channel are all equal: far below their magnitude. */
const CONSTANT_RELATIVE_WIDTH = 2 ** -20;
const SMALLEST_WIDTH = 2 ** -1000;

/**
 * One adaptive histogram per channel. The first batch sets the bin width (a
 * power of two) so that its range fills most of the bins, centred. A later
 * value outside the window first slides the window, and if the data no longer
 * fits, widens the bins by a power of two 2^j at once, merging each group of
 * 2^j neighbours; because the grid is anchored at zero, merging moves no count
 * across a bin boundary. The occupied span thus always uses more than half of
 * the bins after a widening, which is the resolution KL and MSE searches need.
 */
export class HistogramCollector implements StatsCollector<Histograms> {
  readonly axis: number | null;
  readonly bins: number;
  private readonly where: string;
  private channels: number | undefined;
  private counts: Float64Array[] = [];
  private spare: Float64Array | undefined;
  /** Whether result() gave out the count arrays (see there). */
  private handedOut = false;
  private width = new Float64Array(0);
  private start = new Float64Array(0);
  private lo = new Float64Array(0);
  private hi = new Float64Array(0);

  constructor(options: HistogramOptions = {}) {
    this.axis = options.axis ?? null;
    this.bins = options.bins ?? DEFAULT_HISTOGRAM_BINS;
    this.where = describeWhere(options.name);
    if (!Number.isInteger(this.bins) || this.bins < 8) {
      throw new NibbleError('E_BAD_OPTION', `${this.where}: histogram bins must be an integer >= 8, got ${this.bins}`, { option: 'bins' });
    }
  }

  readonly needsSecondPass = false;

  update(batch: CollectorInput): void {
    const input = asStatsInput(batch, this.where);
    const split = splitAtAxis(input.shape, this.axis, this.where);
    checkChannels(split, this.channels, this.where, this.axis);
    if (this.channels === undefined) this.allocate(split.channels);
    if (split.outer * split.inner === 0) return;
    if (this.handedOut) {
      this.counts = this.counts.map((a) => a.slice());
      this.spare = undefined;
      this.handedOut = false;
    }
    const { outer, channels, inner } = split;
    const data = input.data;
    const bins = this.bins;
    // Each channel's runs read in place (no gathered copy). Once a channel has a window, one sweep counts
    // into it while tracking the range; only a value outside the window (or not finite) stops it: then the
    // batch's range places the window as a first batch's does (moving what was counted, exactly: the grids
    // nest), and counting goes on from there. Later batches mostly fit, so most values are read once.
    for (let c = 0; c < channels; c++) {
      let min = Infinity;
      let max = -Infinity;
      let stopO = 0;
      let stopI = 0;
      let fits = this.width[c] > 0;
      if (fits) {
        const counts = this.counts[c];
        const inv = 1 / this.width[c]; // exact: the width is a power of two
        const start = this.start[c];
        sweep: for (let o = 0; o < outer; o++) {
          const base = (o * channels + c) * inner;
          for (let i = base; i < base + inner; i++) {
            const x = data[i];
            const k = Math.floor(x * inv) - start;
            if (!(k >= 0 && k < bins)) { stopO = o; stopI = i; fits = false; break sweep; }
            counts[k]++;
            if (x < min) min = x;
            if (x > max) max = x;
          }
        }
        if (fits) {
          this.ensureRange(c, min, max);
          continue;
        }
      } else stopI = c * inner;
      min = Infinity;
      max = -Infinity;
      for (let o = 0; o < outer; o++) {
        const base = (o * channels + c) * inner;
        for (let i = base; i < base + inner; i++) {
          const x = data[i];
          if (x - x !== 0) throw nonFinite(this.where, this.axis === null ? null : c);
          if (x < min) min = x;
          if (x > max) max = x;
        }
      }
      this.ensureRange(c, min, max);
      const counts = this.counts[c];
      const inv = 1 / this.width[c];
      const start = this.start[c];
      for (let o = stopO; o < outer; o++) {
        const base = (o * channels + c) * inner;
        for (let i = o === stopO ? stopI : base; i < base + inner; i++) counts[Math.floor(data[i] * inv) - start]++;
      }
    }
  }

  updateSecondPass(): void {
    // Histograms are final after one pass.
  }

  /**
   * The histograms hold the collector's own count arrays (17k channels x 2,048 bins on nsfwjs's
   * MobileNetV2: copying them was 280 MB); a later update copies them first, so a result never changes.
   */
  result(): Histograms {
    const channels = this.channels ?? 0;
    const histograms: Histogram[] = [];
    this.handedOut = true;
    for (let c = 0; c < channels; c++) {
      const empty = this.width[c] === 0;
      histograms.push(new Histogram(this.counts[c], empty ? 1 : this.width[c], this.start[c],
        empty ? NaN : this.lo[c], empty ? NaN : this.hi[c]));
    }
    return { axis: this.axis, channels, histograms };
  }

  private allocate(channels: number): void {
    this.channels = channels;
    // One buffer for all channels (views into it): 17k separate arrays took a noticeable share of nsfwjs's collection.
    const all = new Float64Array(channels * this.bins);
    this.counts = Array.from({ length: channels }, (_, c) => all.subarray(c * this.bins, (c + 1) * this.bins));
    this.width = new Float64Array(channels);
    this.start = new Float64Array(channels);
    this.lo = new Float64Array(channels).fill(Infinity);
    this.hi = new Float64Array(channels).fill(-Infinity);
  }

  /** Makes the window of channel c cover [min, max] and everything seen before. */
  private ensureRange(c: number, min: number, max: number): void {
    const lo = Math.min(min, this.lo[c]);
    const hi = Math.max(max, this.hi[c]);
    const bins = this.bins;
    let w = this.width[c];
    if (w === 0) {
      const span = hi - lo;
      w = span > 0 ? pow2AtLeast(span / (bins - 2)) : pow2AtLeast(Math.max(Math.abs(lo) * CONSTANT_RELATIVE_WIDTH, SMALLEST_WIDTH));
      this.place(c, w, lo, hi, 1, null);
    } else {
      const s = this.start[c];
      if (Math.floor(lo / w) >= s && Math.floor(hi / w) < s + bins) {
        this.lo[c] = lo;
        this.hi[c] = hi;
        return;
      }
      let f = 1;
      while (Math.floor(hi / (w * f)) - Math.floor(lo / (w * f)) + 1 > bins) f *= 2;
      this.place(c, w * f, lo, hi, f, this.counts[c]);
    }
    this.lo[c] = lo;
    this.hi[c] = hi;
  }

  /** Centres [lo, hi] in a window of width w, moving old counts (at width w / f) into it. */
  private place(c: number, w: number, lo: number, hi: number, f: number, old: Float64Array | null): void {
    const bins = this.bins;
    const gLo = Math.floor(lo / w);
    const span = Math.floor(hi / w) - gLo + 1;
    const start = gLo - Math.floor((bins - span) / 2);
    // The first placement counts into the channel's (still empty) array; a move into the array a previous
    // move freed, if any: a moving window reallocated 16 kB per channel and batch.
    const counts = old ? this.spare ?? new Float64Array(bins) : this.counts[c];
    if (old) this.spare = undefined;
    if (old) {
      const oldStart = this.start[c];
      for (let k = 0; k < bins; k++) {
        if (old[k] !== 0) counts[Math.floor((oldStart + k) / f) - start] += old[k];
      }
      old.fill(0);
      this.spare = old;
    }
    this.counts[c] = counts;
    this.width[c] = w;
    this.start[c] = start;
  }
}
