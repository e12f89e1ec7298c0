import { definePass, type PassContext, requirement } from '@nibble/core';
import { CALIBRATION_STATS } from '@nibble/stats';
import { markedValues, NibbleError, type QuantPoint, type Value } from '@nibble/ir';
import { allocateBits } from './math/allocate';
import { allocateByError, type ErrorCurveSet } from './math/allocate-by-error';
import { refreshRanges } from './refresh-ranges';
import { ALLOCATION_TARGET_OPTION, allocationAxis, channelSpread, SPREAD_STAT_OPTION } from './value-spread';

/** Where alloc-bits records what it did on a value (besides the bit-widths in the annotation). */
export const ALLOCATION_KEY = 'allocation';

export interface AllocationRecord {
  budget: number;
  meanBits: number;
  method: string;
  stat: string;
}

/**
 * alloc-bits: per-channel bit-widths under an average budget (METHOD.md
 * section 2), written to `value.quant.bits`. Ranges set earlier by a
 * clipping pass are recomputed at the new widths by re-running that pass's
 * recorded invocation (rangeSource) with refresh=true: per-channel ACIQ at
 * each channel's own M_i, whichever order the two passes run in.
 */
export const allocBitsPass = definePass({
  name: 'alloc-bits',
  summary: 'allocate bit-widths per channel under an average budget (the mean never exceeds it)',
  description: [
    'Per marked per-channel value: M_i = round(t + log2(C a_i^(2/3) / sum a^(2/3))), clamped to [min-bits, max-bits],',
    'the target t chosen so that the mean equals the budget (never above it). a_i is the channel\'s std, mean',
    'absolute deviation b, or clip half-width alpha (stat). The budget applies to values at the policy\'s',
    'default width; the first/last layers, logits, pools and overrides keep their own width as budget.',
    'Per-tensor values are left alone. mode=ceil is the older code\'s overshooting rule: refused (E_BUDGET)',
    'unless allow-over. Ranges from a clipping pass are recomputed at the new widths.',
    'by=error instead minimises the summed measured error at exactly the budget (greedy on each channel\'s',
    'error curve, which clip-least-error{curves=true} records).',
  ].join('\n'),
  options: {
    target: ALLOCATION_TARGET_OPTION,
    budget: { type: 'number', min: 0, max: 8, description: 'average bits per channel (default: each value\'s marked width)' },
    mode: { type: 'enum', values: ['round', 'ceil'], default: 'round', description: 'round (the fixed-target rule) or ceil (the older code, overshoots)' },
    minBits: { type: 'integer', default: 0, min: 0, max: 8, description: 'smallest width a channel gets (0: a constant)' },
    maxBits: { type: 'integer', default: 8, min: 1, max: 8, description: 'largest width a channel gets' },
    stat: SPREAD_STAT_OPTION,
    allowOver: { type: 'boolean', default: false, description: 'accept an allocation above the budget instead of E_BUDGET' },
    by: { type: 'enum', values: ['spread', 'error'], default: 'spread', description: 'spread: the sigma^(2/3) rule on stat; error: greedy on measured error curves' },
  },
  // Activations' spreads come from calibration (read when the pass gets to them); alpha reads the clip ranges.
  requires: (opts) => (opts.target !== 'weights' && opts.stat !== 'alpha' && opts.by === 'spread' ? [requirement(CALIBRATION_STATS, {}, { lazy: true })] : []),
  preserves: 'all',
  async run(graph, ctx, opts) {
    if (opts.minBits > opts.maxBits) {
      throw new NibbleError('E_BAD_OPTION', `alloc-bits: min-bits ${opts.minBits} > max-bits ${opts.maxBits}`, { pass: 'alloc-bits', option: 'min-bits', hint: 'give min-bits <= max-bits' });
    }
    const refresh = new Set<Value>();
    let channels = 0;
    let bitsTotal = 0;
    let values = 0;
    let perTensor = 0;
    for (const { value: v, point } of markedValues(graph, opts.target)) {
      const axis = allocationAxis('alloc-bits', v, point);
      if (axis === null) {
        perTensor++;
        continue;
      }
      const bits = await allocate(ctx, v, point, axis, opts);
      // Power-of-two widths replace any levels an earlier alloc-bins gave.
      const { levels: _replaced, ...kept } = v.quant ?? {};
      v.quant = { ...kept, axis, bits, signed: point.signed };
      if (v.quant.range) refresh.add(v);
      values++;
      channels += bits.length;
      bitsTotal += bits.reduce((s, b) => s + b, 0);
    }
    await refreshRanges(graph, ctx, [...refresh]);
    ctx.report.record('allocated', { values, channels, meanBits: channels ? bitsTotal / channels : 0, perTensorSkipped: perTensor, refreshed: refresh.size });
    return { graph, modified: values > 0 };
  },
});

interface Opts {
  budget: number | undefined;
  mode: 'round' | 'ceil';
  minBits: number;
  maxBits: number;
  stat: 'std' | 'b' | 'alpha';
  allowOver: boolean;
  by: 'spread' | 'error';
}

/**
 * Where clip-least-error{curves=true} leaves a value's error curves (the
 * same key as its ERROR_CURVES_KEY: pass packages do not import each other).
 */
const ERROR_CURVES_KEY = 'clipErrorCurves';

function errorCurvesOf(v: Value, channels: number): ErrorCurveSet {
  const cv = v.meta[ERROR_CURVES_KEY] as ErrorCurveSet | undefined;
  if (!cv || cv.errors.length !== channels) {
    throw new NibbleError('E_BAD_OPTION', `alloc-bits: by=error needs the measured error curves of '${v.name}'${cv ? ` for its ${channels} channels (it has ${cv.errors.length})` : ', and it has none'}`, {
      pass: 'alloc-bits', value: v.name, option: 'by',
      hint: 'run clip-least-error{curves=true} on these values before alloc-bits{by=error}, along the same axis',
    });
  }
  return cv;
}

async function allocate(ctx: PassContext, v: Value, point: QuantPoint, axis: number, opts: Opts): Promise<Int32Array> {
  if (opts.by === 'error') {
    const budget = opts.budget !== undefined && point.role === 'default' ? opts.budget : point.bits;
    const channels = v.quant?.range?.lo.length ?? 0;
    const a = allocateByError(errorCurvesOf(v, channels), { budget, minBits: opts.minBits, maxBits: opts.maxBits, name: v.name });
    const record: AllocationRecord = { budget, meanBits: a.meanBits, method: 'greedy-error', stat: 'error' };
    v.meta[ALLOCATION_KEY] = record;
    ctx.report.record('allocation', { ...record, channels: a.bits.length, min: Math.min(...a.bits), max: Math.max(...a.bits), error: a.error }, v.name);
    return a.bits;
  }
  const stat = await channelSpread(ctx, 'alloc-bits', v, point.kind, axis, opts.stat);
  const budget = opts.budget !== undefined && point.role === 'default' ? opts.budget : point.bits;
  const a = allocateBits(stat, { budget, minBits: opts.minBits, maxBits: opts.maxBits, mode: opts.mode, allowOver: opts.allowOver, name: v.name });
  if (!a.withinBudget && !opts.allowOver) {
    throw new NibbleError('E_BUDGET', `alloc-bits: '${v.name}' gets ${a.meanBits.toFixed(3)} bits on average, above its budget of ${budget}`, {
      pass: 'alloc-bits', value: v.name, option: 'budget',
      hint: opts.mode === 'ceil' ? 'mode=ceil overshoots by design; use mode=round, or allow-over=true to accept it' : 'raise the budget or lower min-bits, or pass allow-over=true',
    });
  }
  if (a.warning) ctx.logger.warn(`alloc-bits: '${v.name}': ${a.warning}`);
  const record: AllocationRecord = { budget, meanBits: a.meanBits, method: a.method, stat: opts.stat };
  v.meta[ALLOCATION_KEY] = record;
  ctx.report.record('allocation', { ...record, channels: a.bits.length, min: Math.min(...a.bits), max: Math.max(...a.bits) }, v.name);
  return a.bits;
}
