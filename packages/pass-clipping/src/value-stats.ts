import type { PassContext } from '@nibble/core';
import { constantTensor, NibbleError, type Value } from '@nibble/ir';
import {
  CALIBRATION_OPTIONS, CALIBRATION_STATS, type ChannelStats, type Histogram as StatsHistogram, TensorStatsCollector, type TensorStats,
} from '@nibble/stats';
import type { ClipStats } from './math/aciq';
import { capHistogram, type Histogram } from './math/histogram';

/** What a clipping method sees of one value: statistics (and histograms) per channel, or one set per tensor. */
export interface ValueChannels {
  channels: number;
  stats(c: number): ClipStats;
  /** Present when histograms were requested. */
  histogram?(c: number): Histogram;
}

/** Histogram bins for a weight channel: weights are small, and the clip searches integrate the bins exactly. */
export const WEIGHT_HISTOGRAM_BINS = 1024;

function asMath(h: StatsHistogram): Histogram {
  return { counts: h.counts, edges: h.edges() };
}

function clipStats(where: string, r: { mean: number; mad: number; std: number; min: number; max: number; count: number }): ClipStats {
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
    stats: (c) => clipStats(where, { mean: s.mean[c], mad: s.mad[c], std: s.std[c], min: s.min[c], max: s.max[c], count: s.count[c] }),
    ...(hs ? { histogram: (c: number) => asMath(hs[c]) } : {}),
  };
}

function fromRecord(where: string, r: ChannelStats): ValueChannels {
  const h = r.histogram;
  return { channels: 1, stats: () => clipStats(where, r), ...(h ? { histogram: () => asMath(h) } : {}) };
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
    stats: (c) => {
      const s = d.stats(c);
      return { ...s, min: Math.min(s.min, upper), max: Math.min(s.max, upper) };
    },
    ...(h ? { histogram: (c: number) => capHistogram(h(c), upper) } : {}),
  };
}

/** A weight's statistics straight from its constant (no executor; the mean absolute deviation exact). */
export function weightChannels(v: Value, axis: number | null, histograms: boolean): ValueChannels {
  const t = constantTensor(v);
  if (!t) throw new NibbleError('E_INTERNAL', `weight '${v.name}' is not a constant`, { value: v.name });
  const c = new TensorStatsCollector({ axis, name: v.name, mad: 'two-pass', histogram: histograms ? { bins: WEIGHT_HISTOGRAM_BINS } : false });
  c.update(t);
  if (c.needsSecondPass) c.updateSecondPass(t);
  return fromTensorStats(v.name, c.result());
}

/**
 * An activation's statistics from the calibration analysis. A pass that
 * needs histograms asks for them before the analysis first runs (it adds
 * `histogram` to the CALIBRATION_OPTIONS service); statistics computed
 * earlier without them cannot grow them afterwards.
 */
export async function activationChannels(ctx: PassContext, v: Value, axis: number | null, histograms: boolean, pass: string): Promise<ValueChannels> {
  if (histograms && !ctx.analyses.isCached(CALIBRATION_STATS)) {
    const options = ctx.services.tryGet(CALIBRATION_OPTIONS) ?? {};
    if (!options.histogram) ctx.services.set(CALIBRATION_OPTIONS, { ...options, histogram: {} });
  }
  const stats = await ctx.getAnalysis(CALIBRATION_STATS);
  const s = stats.get(v.name);
  let out: ValueChannels;
  if (axis === null) out = fromRecord(v.name, s.perTensor);
  else if (s.perChannel && s.axis === axis) out = fromTensorStats(v.name, s.perChannel);
  else {
    throw new NibbleError('E_BAD_OPTION', `${pass}: '${v.name}' is clipped per channel along axis ${axis}, but the calibration statistics have no per-channel statistics there`, {
      pass, value: v.name, hint: 'compute calibration statistics per channel (the default), or clip this value per tensor (per-channel=false)',
    });
  }
  if (histograms && !out.histogram) {
    throw new NibbleError('E_BAD_OPTION', `${pass}: needs histograms of '${v.name}', but the calibration statistics were computed without them`, {
      pass, value: v.name,
      hint: 'set the calibration option histogram (e.g. { histogram: { bins: 2048 } }) before the first pass that computes the statistics, or run this pass first',
    });
  }
  return out;
}
