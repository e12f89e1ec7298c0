import type { PassContext } from '@nibble/core';
import { constantTensor, NibbleError, type Value } from '@nibble/ir';
import { CALIBRATION_STATS } from './calibration/analysis';
import type { PerTensorStats } from './calibration/calibration-stats';
import { TensorStatsCollector, type TensorStats } from './tensor-stats';

/*
 * Every quantization pass asks the same question of a value: its statistics
 * per channel along an axis (or per tensor), from its constant when it is a
 * weight, from the calibration analysis when it is an activation. One
 * answer, with one set of errors, so the passes agree on what a missing
 * per-channel statistic or histogram means.
 */

export interface ValueStatisticsRequest {
  /** The channel axis, or null for one set of statistics per tensor. */
  axis: number | null;
  /** The pass asking, named in errors. */
  pass: string;
  /** A constant's mean absolute deviation, exact (default true). An activation has what calibration collected. */
  deviation?: boolean;
  /**
   * Histograms: a constant's are collected with `constantBins` bins; an
   * activation's must have been collected by calibration, which the pass
   * declares with requirement(CALIBRATION_STATS, { histograms: true }).
   */
  histograms?: { constantBins: number } | false;
}

/** A constant's statistics straight from its tensor (no executor). */
export function constantStatistics(v: Value, request: ValueStatisticsRequest): TensorStats {
  const t = constantTensor(v);
  if (!t) throw new NibbleError('E_INTERNAL', `${request.pass}: '${v.name}' is not a constant`, { pass: request.pass, value: v.name });
  const h = request.histograms;
  const c = new TensorStatsCollector({
    axis: request.axis, name: v.name, mad: request.deviation === false ? false : 'two-pass', histogram: h ? { bins: h.constantBins } : false,
  });
  c.update(t);
  if (c.needsSecondPass) c.updateSecondPass(t);
  return c.result();
}

/** A per-tensor record as the one channel of an axis-null TensorStats. */
function oneChannel(r: PerTensorStats): TensorStats {
  const one = (x: number): Float64Array => Float64Array.of(x);
  return {
    axis: null, channels: 1, count: one(r.count), min: one(r.min), max: one(r.max), mean: one(r.mean), variance: one(r.variance), std: one(r.std),
    populationVariance: one(r.populationVariance), mad: one(r.mad), madExact: Uint8Array.of(r.madExact ? 1 : 0), madErrorBound: one(r.madErrorBound),
    ...(r.histogram ? { histograms: [r.histogram] } : {}),
  };
}

/** An activation's statistics from the calibration analysis (computed on first request). */
export async function calibratedStatistics(ctx: PassContext, v: Value, request: ValueStatisticsRequest): Promise<TensorStats> {
  const { axis, pass } = request;
  const s = (await ctx.getAnalysis(CALIBRATION_STATS)).get(v.name);
  let out: TensorStats;
  if (axis === null) out = oneChannel(s.perTensor);
  else if (s.perChannel && s.axis === axis) out = s.perChannel;
  else {
    throw new NibbleError('E_BAD_OPTION', `${pass}: '${v.name}' is read per channel along axis ${axis}, but the calibration statistics have no per-channel statistics there`, {
      pass, value: v.name, hint: 'compute calibration statistics per channel (the default), or quantize this value per tensor',
    });
  }
  if (request.histograms && !out.histograms) {
    throw new NibbleError('E_BAD_OPTION', `${pass}: needs histograms of '${v.name}', but the calibration statistics were computed without them`, {
      pass, value: v.name,
      hint: `declare them in the pass (requires: requirement(CALIBRATION_STATS, { histograms: true })), or set the calibration option histogram before the statistics are computed`,
    });
  }
  return out;
}

/** Statistics of a marked value: a weight's from its constant, an activation's from calibration. */
export async function valueStatistics(ctx: PassContext, v: Value, kind: 'weight' | 'activation', request: ValueStatisticsRequest): Promise<TensorStats> {
  return kind === 'weight' ? constantStatistics(v, request) : calibratedStatistics(ctx, v, request);
}
