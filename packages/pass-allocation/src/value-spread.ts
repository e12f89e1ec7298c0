import type { PassContext } from '@nibble/core';
import { NibbleError, type QuantPoint, type Value } from '@nibble/ir';
import { valueStatistics } from '@nibble/stats';

/** The per-channel spread bit allocation weighs channels by. */
export type SpreadStat = 'std' | 'b' | 'alpha';

function notFinite(pass: string, v: Value, stat: SpreadStat, c: number, x: number): NibbleError {
  return new NibbleError('E_NUMERIC', `${pass}: channel ${c} of '${v.name}' has ${stat} = ${x}`, {
    pass, value: v.name,
    hint: stat === 'b'
      ? 'the calibration statistics hold no mean absolute deviation; compute them with it (the default) or use stat=std'
      : 'the statistics of this value are not finite; check the calibration data',
  });
}

function check(pass: string, v: Value, stat: SpreadStat, xs: Float64Array): Float64Array {
  xs.forEach((x, c) => {
    if (!(x >= 0) || !Number.isFinite(x)) throw notFinite(pass, v, stat, c, x);
  });
  return xs;
}

/**
 * a_i of METHOD.md section 2 per channel along `axis`: the std or the mean
 * absolute deviation b (weights from their constants, activations from the
 * calibration analysis), or alpha, the half-width of the clip range already
 * chosen (which a clipping pass must have set).
 */
export async function channelSpread(ctx: PassContext, pass: string, v: Value, kind: 'weight' | 'activation', axis: number, stat: SpreadStat): Promise<Float64Array> {
  if (stat === 'alpha') {
    const r = v.quant?.range;
    if (!r || v.quant!.axis !== axis) {
      throw new NibbleError('E_BAD_OPTION', `${pass}: stat=alpha needs the clip range of '${v.name}' per channel along axis ${axis}, and it has none`, {
        pass, value: v.name, option: 'stat', hint: 'run a clipping pass (clip-*) on these values before alloc-bits, or use stat=std or stat=b',
      });
    }
    return check(pass, v, stat, Float64Array.from(r.lo, (lo, i) => (r.hi[i] - lo) / 2));
  }
  const s = await valueStatistics(ctx, v, kind, { axis, pass, deviation: stat === 'b' });
  return check(pass, v, stat, Float64Array.from(stat === 'b' ? s.mad : s.std));
}

/** The options alloc-bits and alloc-bins share: which values, and which spread weighs their channels. */
export const ALLOCATION_TARGET_OPTION = {
  type: 'enum', values: ['activations', 'weights', 'all'], default: 'all', description: 'which marked values to allocate',
} as const;

export const SPREAD_STAT_OPTION = {
  type: 'enum', values: ['std', 'b', 'alpha'], default: 'std', description: 'the per-channel spread a_i: std, mean absolute deviation, or clip half-width',
} as const;

/**
 * The channel axis an allocation pass uses for `v` (the annotation's, else
 * the mark's; null per tensor), refusing a value quantize already turned
 * into a grid: widths must be chosen before the grid is.
 */
export function allocationAxis(pass: string, v: Value, point: QuantPoint): number | null {
  if (v.quant?.scale) {
    throw new NibbleError('E_BAD_OPTION', `${pass}: '${v.name}' is already quantized (its annotation has a scale)`, {
      pass, value: v.name, option: 'target', hint: `${pass} runs before quantize; put it earlier in the pipeline`,
    });
  }
  return v.quant ? v.quant.axis : point.perChannel ? point.axis : null;
}
