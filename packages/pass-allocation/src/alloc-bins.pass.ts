import { definePass, requirement } from '@nibble/core';
import { CALIBRATION_STATS } from '@nibble/stats';
import { markedValues, NibbleError, readerBoundsOf, type Value } from '@nibble/ir';
import { bitsForLevels } from '@nibble/quant';
import { ALLOCATION_KEY } from './alloc-bits.pass';
import { allocateBins, midTreadRange } from './math/allocate-bins';
import { refreshRanges } from './refresh-ranges';
import { ALLOCATION_TARGET_OPTION, allocationAxis, channelSpread, SPREAD_STAT_OPTION } from './value-spread';

/** What alloc-bins records on a value (meta[ALLOCATION_KEY], as alloc-bits does). */
export interface BinAllocationRecord {
  budget: number;
  /** Mean log2 of the bins: the fixed-length rate, an upper bound of the codes' entropy. */
  meanLog2Levels: number;
  method: 'bins';
  stat: string;
}

/**
 * alloc-bins: the paper's variable-length variant of bit allocation. Each
 * channel gets omega_i bins, omega_i ~ a_i^(2/3), any integer (not a power
 * of two), with the mean of log2 omega_i at most the budget
 * (math/allocate-bins.ts says why the rate and not the entropy). The
 * annotation gets `levels` (omega) and `bits` = ceil(log2 omega), the
 * container width. Ranges a clipping pass set are chosen again for omega
 * bins (clip-aciq solves alpha for omega, doubled one-sided), then moved
 * in to the level centres of a mid-tread grid (step = clip range / omega),
 * so quantize builds exactly that grid. Min/max ranges keep their ends as
 * the end levels by default: they clip nothing, so there is no clipping
 * noise to trade against the finer step.
 */
export const allocBinsPass = definePass({
  name: 'alloc-bins',
  summary: 'allocate quantization bins per channel (any integer, not powers of two) under a mean log2 budget',
  description: [
    'Per marked per-channel value: omega_i = round(2^t C a_i^(2/3) / sum a^(2/3)), clamped to [min-levels, max-levels],',
    'the target t the largest with mean log2 omega <= budget, spare rate given greedily to the channels that gain most.',
    'a_i is the std, mean absolute deviation b or clip half-width (stat). First/last layers, logits, pools and overrides',
    'keep their marked width as budget; per-tensor values are left alone. Clip ranges are recomputed for omega bins and',
    'moved to the level centres of the mid-tread grid; min/max ranges keep their ends as end levels unless mid-tread=all.',
    'The codes are meant to be entropy-coded (quantize --out model.nbz); the report gives their entropy.',
  ].join('\n'),
  options: {
    target: ALLOCATION_TARGET_OPTION,
    budget: { type: 'number', min: 0, max: 8, description: 'mean log2 of the bins per channel (default: each value\'s marked width)' },
    minLevels: { type: 'integer', default: 2, min: 1, max: 256, description: 'fewest bins a channel gets (1: a constant)' },
    maxLevels: { type: 'integer', default: 256, min: 2, max: 256, description: 'most bins a channel gets (256 fits an 8-bit container)' },
    stat: SPREAD_STAT_OPTION,
    midTread: {
      type: 'enum', values: ['clipped', 'all', 'none'], default: 'clipped',
      description: 'levels at the centres of omega bins tiling the range (the paper\'s mid-tread quantizer): for clipped ranges (not min/max), all, or none',
    },
  },
  // Spreads of activations come from calibration. Histograms too: a grid of omega bins is worth the entropy of
  // its codes, which the report and quantize --json measure on the activations' calibration histograms.
  requires: (opts) => (opts.target !== 'weights' ? [requirement(CALIBRATION_STATS, { histograms: true }, { lazy: true })] : []),
  preserves: 'all',
  async run(graph, ctx, opts) {
    if (opts.minLevels > opts.maxLevels) {
      throw new NibbleError('E_BAD_OPTION', `alloc-bins: min-levels ${opts.minLevels} > max-levels ${opts.maxLevels}`, {
        pass: 'alloc-bins', option: 'min-levels', hint: 'give min-levels <= max-levels',
      });
    }
    const allocated: Value[] = [];
    let channels = 0;
    let log2Total = 0;
    let perTensor = 0;
    for (const { value: v, point } of markedValues(graph, opts.target)) {
      const axis = allocationAxis('alloc-bins', v, point);
      if (axis === null) {
        perTensor++;
        continue;
      }
      const stat = await channelSpread(ctx, 'alloc-bins', v, point.kind, axis, opts.stat);
      const budget = opts.budget !== undefined && point.role === 'default' ? opts.budget : point.bits;
      const a = allocateBins(stat, { budget, minLevels: opts.minLevels, maxLevels: opts.maxLevels, name: v.name });
      if (a.warning) ctx.logger.warn(`alloc-bins: '${v.name}': ${a.warning}`);
      const levels = a.levels;
      const bits = Int32Array.from(levels, bitsForLevels);
      v.quant = { ...(v.quant ?? {}), axis, bits, levels, signed: point.signed };
      const record: BinAllocationRecord = { budget, meanLog2Levels: a.meanLog2, method: 'bins', stat: opts.stat };
      v.meta[ALLOCATION_KEY] = record;
      ctx.report.record('allocation', { ...record, channels: levels.length, min: Math.min(...levels), max: Math.max(...levels), filled: a.filled }, v.name);
      allocated.push(v);
      channels += levels.length;
      log2Total += a.meanLog2 * levels.length;
    }
    const ranged = allocated.filter((v) => v.quant?.range);
    await refreshRanges(graph, ctx, ranged, 'alloc-bins');
    // A min/max range clips nothing: its ends are observed values, which a mid-tread grid would cut by half a bin
    // (MobileNetV2 W3A3, 2000 test images: 61.6 % top-1 with mid-tread min/max weights, 69.9 % with their ends kept).
    const midTread = ranged.filter((v) => opts.midTread === 'all' || (opts.midTread === 'clipped' && !isMinMax(v.quant?.rangeSource)));
    for (const v of midTread) toMidTread(v);
    ctx.report.record('allocated', {
      values: allocated.length, channels, meanLog2Levels: channels ? log2Total / channels : 0, perTensorSkipped: perTensor, refreshed: ranged.length, midTread: midTread.length,
    });
    return { graph, modified: allocated.length > 0 };
  },
});

/** Ranges that are the observed extremes: clip-minmax's, or quantize's own choice. */
function isMinMax(source: string | undefined): boolean {
  return source === undefined || source.startsWith('clip-minmax') || source.startsWith('quantize');
}

/** Moves each channel's clip range in to the level centres of its mid-tread grid. */
function toMidTread(v: Value): void {
  const q = v.quant!;
  const { oneSided } = readerBoundsOf(v);
  const lo = new Float64Array(q.range!.lo.length);
  const hi = new Float64Array(lo.length);
  for (let c = 0; c < lo.length; c++) {
    const r = midTreadRange(q.range!.lo[c], q.range!.hi[c], q.levels![c], oneSided);
    lo[c] = r.lo;
    hi[c] = r.hi;
  }
  v.quant = { ...q, range: { lo, hi } };
}
