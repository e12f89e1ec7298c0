import type { PassContext } from '@nibble/core';
import { constantTensor, NibbleError, type Value } from '@nibble/ir';
import { type Histogram as StatsHistogram, type TensorStats, valueStatistics } from '@nibble/stats';
import type { ClipStats } from './math/aciq';
import { capHistogram, type BinnedDensity } from './math/histogram';

/** What a clipping method sees of one value: statistics (and histograms) per channel, or one set per tensor. */
export interface ValueChannels {
  channels: number;
  /** The statistics object read (the calibration analysis' own): the same object means the same statistics. */
  source?: object;
  stats(c: number): ClipStats;
  /** Present when histograms were requested. */
  histogram?(c: number): BinnedDensity;
}

/** Histogram bins for a weight channel: weights are small, and the clip searches integrate the bins exactly. */
export const WEIGHT_HISTOGRAM_BINS = 1024;

/** A calibration histogram as the clipping math reads it. */
export function asMath(h: StatsHistogram): BinnedDensity {
  return { counts: h.counts, edges: h.edges() };
}

export function clipStats(where: string, r: { mean: number; mad: number; std: number; min: number; max: number; count: number }): ClipStats {
  if (!Number.isFinite(r.mad)) {
    throw new NibbleError('E_BAD_OPTION', `${where}: the calibration statistics hold no mean absolute deviation`, {
      value: where,
      hint: 'compute the calibration statistics with the mean absolute deviation (the default; do not set mad=false)',
    });
  }
  return { mean: r.mean, meanAbsDev: r.mad, std: r.count > 1 ? r.std : 0, min: r.min, max: r.max };
}

function fromTensorStats(where: string, s: TensorStats): ValueChannels {
  const hs = s.histograms;
  return {
    channels: s.channels,
    source: s,
    stats: (c) => clipStats(where, { mean: s.mean[c], mad: s.mad[c], std: s.std[c], min: s.min[c], max: s.max[c], count: s.count[c] }),
    ...(hs ? { histogram: (c: number) => asMath(hs[c]) } : {}),
  };
}

/**
 * The channels as readers that clip at `upper` see them (ReLU6: 6): the
 * histograms of min(x, upper), min and max capped, so every method chooses
 * among ranges that end at or below the bound. Mean and deviations stay
 * those of x: ACIQ fits its prior to them, and its range is capped after.
 */
export function cappedChannels(d: ValueChannels, upper: number): ValueChannels {
  const h = d.histogram;
  return {
    channels: d.channels,
    ...(d.source ? { source: d.source } : {}),
    stats: (c) => {
      const s = d.stats(c);
      return { ...s, min: Math.min(s.min, upper), max: Math.min(s.max, upper) };
    },
    ...(h ? { histogram: (c: number) => capHistogram(h(c), upper) } : {}),
  };
}

/**
 * A value's channels as the clipping methods read them: a weight's from its
 * constant (the mean absolute deviation exact, histograms on
 * WEIGHT_HISTOGRAM_BINS), an activation's from the calibration analysis
 * (histograms there when the pass declared them, see clip-driver.ts).
 */
export async function valueChannels(ctx: PassContext, v: Value, kind: 'weight' | 'activation', axis: number | null, histograms: boolean, pass: string): Promise<ValueChannels> {
  const s = await valueStatistics(ctx, v, kind, { axis, pass, histograms: histograms ? { constantBins: WEIGHT_HISTOGRAM_BINS } : false });
  return fromTensorStats(v.name, s);
}

/**
 * A constant's values channel by channel along `axis` (null: one channel of
 * them all), in float64: what a clip search measures exactly on weights
 * instead of on a histogram of them.
 */
export function constantChannelValues(v: Value, axis: number | null, pass: string): Float64Array[] {
  const t = constantTensor(v);
  if (!t) throw new NibbleError('E_INTERNAL', `${pass}: '${v.name}' is not a constant`, { pass, value: v.name });
  const data = t.toFloat64();
  const shape = t.shape;
  if (axis === null) return [data];
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  const channels = shape[axis];
  return Array.from({ length: channels }, (_, c) => {
    const out = new Float64Array(outer * inner);
    for (let o = 0; o < outer; o++) out.set(data.subarray((o * channels + c) * inner, (o * channels + c + 1) * inner), o * inner);
    return out;
  });
}
