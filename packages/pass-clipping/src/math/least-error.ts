import { NibbleError } from '@nibble/ir';
import { aciqRange, type ClipRange, type ClipStats } from './aciq';
import { type BinnedDensity, checkHistogram, occupiedBins, quantile, reluHistogram, totalMass } from './histogram';
import { beyondError, momentBins, rangeMseAndBoundOf } from './histogram-mse';
import { gridThenGolden } from './minimize';
import { minMaxRange } from './minmax';
import { percentileRange } from './percentile';

/*
 * nibble's own clipping: per channel, the candidate range with the least
 * quantization MSE measured on the channel's own distribution. The
 * candidates are the ranges the other clip passes would choose (min/max,
 * ACIQ Laplace and Gauss at the channel's width, MSE search, percentiles),
 * each capped at the observed range, so the choice can only match or beat
 * min/max on the measured error (min/max is a candidate) and can never
 * spend levels on values calibration did not see (the ACIQ failure the zoo
 * table shows). The error is histogramQuantMse: exact for the histogram's
 * piecewise-uniform reading, and exact outright for point masses (weights,
 * see pointMasses), with the clipping part counted `clipWeight` times.
 *
 * Why weigh clipping above rounding: rounding errors are nearly independent
 * from value to value and partly cancel in the next layer's sums; clipping
 * errors hit the largest values, which arrive together (a feature strongly
 * present over a region) and add up coherently, and they are what the
 * logits are made of. Measured on the zoo ResNet-20 at W4A4 (32 images,
 * weights min/max, bias correction): the plain MSE choice (clipWeight 1)
 * gave 17.7 dB logit SQNR against 20.0 for min/max activations and 20.7 for
 * the 99.99th percentile, while the plain MSE it minimises was the least of
 * all; clipWeight 4 gave 20.0 dB at the same top-1 (docs/accuracy.md).
 */

export const LEAST_ERROR_CANDIDATES = ['minmax', 'mse', 'laplace', 'gauss', 'p99.99', 'p99.9'] as const;
export type LeastErrorCandidate = (typeof LEAST_ERROR_CANDIDATES)[number];

export interface LeastErrorOptions {
  bits: number;
  /** Feeds a ReLU: ranges [0, t], error measured on max(x, 0). */
  oneSided?: boolean;
  /** In order of preference on equal error (default LEAST_ERROR_CANDIDATES: min/max first). */
  candidates?: readonly LeastErrorCandidate[];
  /** Points of the error search's scan (default 100). */
  gridPoints?: number;
  /** How many times the clipping error counts (default 1: the plain MSE). */
  clipWeight?: number;
}

export interface LeastErrorRange extends ClipRange {
  choice: LeastErrorCandidate;
  /** The winner's measured error (the MSE, its clipping part counted clipWeight times). */
  mse: number;
  /** Every candidate's measured error, likewise. */
  errors: Partial<Record<LeastErrorCandidate, number>>;
}

/** A candidate's range before capping. */
function candidateRange(c: LeastErrorCandidate, h: BinnedDensity, measured: BinnedDensity, measure: RangeMeasure, stats: ClipStats, opts: LeastErrorOptions): ClipRange {
  const oneSided = opts.oneSided ?? false;
  switch (c) {
    case 'minmax': return minMaxRange(stats, oneSided);
    case 'laplace':
    case 'gauss': return aciqRange(stats, { prior: c, bits: opts.bits, oneSided, capAtObserved: true });
    case 'mse': return searchRange(measure, stats, opts);
    // One-sided: the percentile of max(x, 0), read on the histogram already made.
    case 'p99.99':
    case 'p99.9': return oneSided ? { lo: 0, hi: quantile(measured, Number(c.slice(1)) / 100) } : percentileRange(h, Number(c.slice(1)), 'asymmetric');
  }
}

/** The observed range as the grid sees it: it always holds 0 (the zero point), one-sided starts at 0. */
function observedRange(stats: ClipStats, oneSided: boolean): ClipRange {
  return oneSided ? { lo: 0, hi: Math.max(stats.max, 0) } : { lo: Math.min(stats.min, 0), hi: Math.max(stats.max, 0) };
}

/**
 * The mass beyond [lo, hi] times its squared distance to the nearer end,
 * integrated exactly over the piecewise-uniform bins (point masses as such):
 * the clipping part of the quantization error, up to where the end level
 * lies within half a step of the end.
 */
export function clippingError(h: BinnedDensity, lo: number, hi: number): number {
  return clippingErrorOf(h)(lo, hi);
}

/**
 * clippingError of one histogram as a function of [lo, hi]. Only bins that
 * start below lo (a prefix: edges ascend) or end above hi (a suffix) hold
 * clipped mass: whole ones count m * E[(x - end)^2] from the prefix sums
 * of momentBins, a bin straddling an end its part beyond it. O(log bins)
 * per range: the search's small windows clip nearly every bin.
 */
function clippingErrorOf(h: BinnedDensity): (lo: number, hi: number) => number {
  const total = totalMass(h);
  const bins = momentBins(occupiedBins(h));
  return (lo, hi) => (total === 0 ? 0 : beyondError(bins, lo, hi) / total);
}

/** The measured error a range is judged by: the MSE, its clipping part counted clipWeight times. */
export function weightedError(measured: BinnedDensity, lo: number, hi: number, bits: number, constant: number, clipWeight = 1): number {
  return weightedErrorOf(measured, clipWeight).error(lo, hi, bits, constant);
}

/** weightedError of one histogram as a function of the range (the histogram checked once: searches call it often). */
type RangeError = (lo: number, hi: number, bits: number, constant: number) => number;
/** The weighted error of a range, and a cheap lower bound of it (the search skips ranges that lose on the bound). */
interface RangeMeasure { error: RangeError; bound: RangeError }
function weightedErrorOf(measured: BinnedDensity, clipWeight = 1): RangeMeasure {
  // An error curve asks for the same channel at several widths: its error functions are built once.
  let byWeight = ERRORS.get(measured);
  if (!byWeight) ERRORS.set(measured, (byWeight = new Map()));
  let f = byWeight.get(clipWeight);
  if (!f) byWeight.set(clipWeight, (f = buildWeightedError(measured, clipWeight)));
  return f;
}
const ERRORS = new WeakMap<BinnedDensity, Map<number, RangeMeasure>>();

function buildWeightedError(measured: BinnedDensity, clipWeight: number): RangeMeasure {
  const mse = rangeMseAndBoundOf(measured);
  if (clipWeight === 1) return { error: mse.mse, bound: mse.bound };
  const clippedAt = clippingErrorOf(measured);
  // The scan asks for a range's bound and then its error: the clipping part is computed once for both.
  let last = { lo: NaN, hi: NaN, value: 0 };
  const clipped = (lo: number, hi: number): number => {
    if (lo !== last.lo || hi !== last.hi) last = { lo, hi, value: clippedAt(lo, hi) };
    return last.value;
  };
  return {
    error: (lo, hi, bits, constant) => mse.mse(lo, hi, bits, constant) + (clipWeight - 1) * clipped(lo, hi),
    bound: (lo, hi, bits, constant) => mse.bound(lo, hi, bits, constant) + (clipWeight - 1) * clipped(lo, hi),
  };
}

/**
 * The search candidate: the observed range shrunk towards 0 by one factor
 * f in (0, 1] ([0, f max] one-sided), f minimising the weighted error: a
 * grid scan, then golden-section refinement (the error is jagged, so not
 * golden section alone).
 */
function searchRange(measure: RangeMeasure, stats: ClipStats, opts: LeastErrorOptions): ClipRange {
  const oneSided = opts.oneSided ?? false;
  const obs = observedRange(stats, oneSided);
  if (obs.hi - obs.lo === 0) return obs;
  const at = (f: number): ClipRange => ({ lo: f * obs.lo, hi: f * obs.hi });
  const points = opts.gridPoints ?? 100;
  const m = gridThenGolden(
    (f) => { const r = at(f); return measure.error(r.lo, r.hi, opts.bits, stats.mean); }, 1 / points, 1, points, 1e-4,
    (f) => { const r = at(f); return measure.bound(r.lo, r.hi, opts.bits, stats.mean); },
  );
  return at(m.x);
}

/** reluHistogram(h), made once per histogram (an error curve measures one channel at several widths). */
function reluOf(h: BinnedDensity): BinnedDensity {
  let r = RELU.get(h);
  if (!r) RELU.set(h, (r = reluHistogram(h)));
  return r;
}
const RELU = new WeakMap<BinnedDensity, BinnedDensity>();

/**
 * The least-error range of one channel: `h` its histogram (already capped
 * at a reader's bound where there is one), `stats` its moments and observed
 * min/max. Every candidate is clamped into the observed range.
 */
export function leastErrorRange(h: BinnedDensity, stats: ClipStats, opts: LeastErrorOptions): LeastErrorRange {
  checkHistogram(h);
  if (!Number.isInteger(opts.bits) || opts.bits < 1 || opts.bits > 16) {
    throw new NibbleError('E_BAD_OPTION', `clip-least-error: bit-width ${opts.bits} is not an integer in [1, 16]`, {
      option: 'bits', hint: 'a 0-bit channel is a constant and needs no clip search',
    });
  }
  const oneSided = opts.oneSided ?? false;
  const measured = oneSided ? reluOf(h) : h;
  const obs = observedRange(stats, oneSided);
  const errors: Partial<Record<LeastErrorCandidate, number>> = {};
  let best: LeastErrorRange | undefined;
  const measure = weightedErrorOf(measured, opts.clipWeight);
  for (const c of opts.candidates ?? LEAST_ERROR_CANDIDATES) {
    const r = candidateRange(c, h, measured, measure, stats, opts);
    const lo = Math.min(Math.max(r.lo, obs.lo), obs.hi);
    const hi = Math.max(Math.min(r.hi, obs.hi), lo);
    const e = measure.error(lo, hi, opts.bits, stats.mean);
    errors[c] = e;
    if (!best || e < best.mse) best = { lo, hi, choice: c, mse: e, errors };
  }
  if (!best) throw new NibbleError('E_BAD_OPTION', 'clip-least-error: no candidates', { option: 'candidates' });
  return best;
}

/**
 * The least measured error at each width in `bits` (ascending or not): the
 * channel's error curve, what an allocation by measured error reads.
 */
export function leastErrorCurve(h: BinnedDensity, stats: ClipStats, bits: readonly number[], opts: Omit<LeastErrorOptions, 'bits'> = {}): Float64Array {
  return Float64Array.from(bits, (b) => (b === 0 ? zeroBitError(h, stats, opts.oneSided ?? false) : leastErrorRange(h, stats, { ...opts, bits: b }).mse));
}

/** A 0-bit channel is the constant mean (one-sided: max(mean, 0)): its error is the second moment about it. */
function zeroBitError(h: BinnedDensity, stats: ClipStats, oneSided: boolean): number {
  const measured = oneSided ? reluOf(h) : h;
  const c = oneSided ? Math.max(stats.mean, 0) : stats.mean;
  return weightedError(measured, c, c, 0, c);
}

/**
 * Samples as a histogram of point masses (a zero-width bin at each distinct
 * value, empty bins between): every histogram method then measures the
 * exact error of these very values. Weights are read this way.
 */
export function pointMasses(values: ArrayLike<number>): BinnedDensity {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return { counts: [0], edges: [0, 0] };
  // Distinct values v0 < v1 < ...: edges v0, v0, v1, v1, ...; bins [v0, v0] (mass), [v0, v1] (empty), [v1, v1] (mass), ...
  const edges: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length;) {
    const x = sorted[i];
    let j = i;
    while (j < sorted.length && sorted[j] === x) j++;
    if (counts.length > 0) counts.push(0);
    edges.push(x, x);
    counts.push(j - i);
    i = j;
  }
  return { counts, edges };
}
