import {
  asStatsInput, ChannelGather, checkChannels, describeWhere, nonFinite, splitAtAxis,
  type CollectorInput, type StatsData,
} from './channels';
import { NibbleError } from '@nibble/ir';
import type { CollectorOptions, StatsCollector } from './collector';

/** Count, extremes and the first two moments, one entry per channel. */
export interface Moments {
  /** The channel axis, or null for per-tensor statistics. */
  readonly axis: number | null;
  readonly channels: number;
  readonly count: Float64Array;
  readonly min: Float64Array;
  readonly max: Float64Array;
  readonly mean: Float64Array;
  /** Unbiased variance, sum (x - mean)^2 / (n - 1); 0 when n = 1, NaN when n = 0. */
  readonly variance: Float64Array;
  /** sqrt(variance): the estimator ACIQ's Gaussian prior uses. */
  readonly std: Float64Array;
  /** Population variance, sum (x - mean)^2 / n. */
  readonly populationVariance: Float64Array;
}

/** Moments of one contiguous run: min, max, mean and sum of squared deviations. */
export interface RunMoments {
  min: number;
  max: number;
  mean: number;
  m2: number;
}

/**
 * Two passes over a run that is already in cache: the mean, then the squared
 * deviations about it with the correction term sum(d) (the "corrected two-pass"
 * algorithm), which removes the first-order error of the rounded mean.
 */
export function runMoments(v: StatsData, out: RunMoments): boolean {
  const n = v.length;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i];
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (!Number.isFinite(sum)) return false;
  const m = sum / n;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const d = v[i] - m;
    s1 += d;
    s2 += d * d;
  }
  out.min = min;
  out.max = max;
  out.mean = m + s1 / n;
  out.m2 = s2 - (s1 * s1) / n;
  return true;
}

/**
 * Streaming count/min/max/mean/variance. Each batch's channel is reduced with
 * the two-pass formula and merged into the running totals with Chan et al.'s
 * pairwise update, which is exact in exact arithmetic and does not suffer the
 * cancellation of sum-of-squares formulas when |mean| >> std.
 */
export class MomentsCollector implements StatsCollector<Moments> {
  readonly axis: number | null;
  private readonly where: string;
  private readonly gather = new ChannelGather();
  private readonly run: RunMoments = { min: 0, max: 0, mean: 0, m2: 0 };
  private channels: number | undefined;
  private n = new Float64Array(0);
  private lo = new Float64Array(0);
  private hi = new Float64Array(0);
  private mu = new Float64Array(0);
  private m2 = new Float64Array(0);

  constructor(options: CollectorOptions = {}) {
    this.axis = options.axis ?? null;
    this.where = describeWhere(options.name);
  }

  readonly needsSecondPass = false;

  update(batch: CollectorInput): void {
    const input = asStatsInput(batch, this.where);
    const split = splitAtAxis(input.shape, this.axis, this.where);
    checkChannels(split, this.channels, this.where, this.axis);
    if (this.channels === undefined) this.allocate(split.channels);
    if (split.outer * split.inner === 0) return;
    for (let c = 0; c < split.channels; c++) {
      const v = this.gather.channel(input, split, c);
      if (!runMoments(v, this.run)) throw nonFinite(this.where, this.axis === null ? null : c);
      this.merge(c, v.length, this.run);
    }
  }

  updateSecondPass(): void {
    // Moments are final after one pass.
  }

  /**
   * Merges moments of n values of channel c computed elsewhere (reductions
   * inside the engine), exactly as a run this collector reduced itself.
   */
  mergeRun(channels: number, c: number, n: number, run: RunMoments): void {
    if (this.channels === undefined) this.allocate(channels);
    if (channels !== this.channels) {
      throw new NibbleError('E_SHAPE', `${this.where}: a run of ${channels} channels after runs of ${this.channels}`);
    }
    if (!Number.isFinite(run.mean) || !Number.isFinite(run.m2) || !Number.isFinite(run.min) || !Number.isFinite(run.max)) {
      throw nonFinite(this.where, this.axis === null ? null : c);
    }
    if (n > 0) this.merge(c, n, run);
  }

  /** Running mean of channel c (used by collectors that need a provisional centre). */
  meanOf(c: number): number {
    return this.mu[c];
  }

  result(): Moments {
    const channels = this.channels ?? 0;
    const variance = new Float64Array(channels);
    const populationVariance = new Float64Array(channels);
    const std = new Float64Array(channels);
    const mean = new Float64Array(channels);
    const min = new Float64Array(channels);
    const max = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      const n = this.n[c];
      const m2 = Math.max(this.m2[c], 0);
      mean[c] = n > 0 ? this.mu[c] : NaN;
      min[c] = n > 0 ? this.lo[c] : NaN;
      max[c] = n > 0 ? this.hi[c] : NaN;
      variance[c] = n > 1 ? m2 / (n - 1) : n === 1 ? 0 : NaN;
      populationVariance[c] = n > 0 ? m2 / n : NaN;
      std[c] = Math.sqrt(variance[c]);
    }
    return { axis: this.axis, channels, count: this.n.slice(), min, max, mean, variance, std, populationVariance };
  }

  private allocate(channels: number): void {
    this.channels = channels;
    this.n = new Float64Array(channels);
    this.lo = new Float64Array(channels).fill(Infinity);
    this.hi = new Float64Array(channels).fill(-Infinity);
    this.mu = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
  }

  private merge(c: number, nb: number, r: RunMoments): void {
    const na = this.n[c];
    if (r.min < this.lo[c]) this.lo[c] = r.min;
    if (r.max > this.hi[c]) this.hi[c] = r.max;
    if (na === 0) {
      this.n[c] = nb;
      this.mu[c] = r.mean;
      this.m2[c] = r.m2;
      return;
    }
    const n = na + nb;
    const delta = r.mean - this.mu[c];
    this.mu[c] += (delta * nb) / n;
    this.m2[c] += r.m2 + ((delta * delta * na) / n) * nb;
    this.n[c] = n;
  }
}
