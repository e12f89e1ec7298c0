import type { PassContext } from '@nibble/core';
import { constantTensor, NibbleError, type Value } from '@nibble/ir';
import { CALIBRATION_STATS, TensorStatsCollector } from '@nibble/stats';

/** Per-channel extremes and means of a marked value (one entry when per tensor). */
export interface ChannelRange {
  min: Float64Array;
  max: Float64Array;
  mean: Float64Array;
}

/** A weight's statistics straight from its constant tensor (no executor). */
export function weightChannelRange(v: Value, axis: number | null): ChannelRange {
  const t = constantTensor(v);
  if (!t) throw new NibbleError('E_INTERNAL', `weight '${v.name}' is not a constant`, { value: v.name });
  const c = new TensorStatsCollector({ axis, name: v.name, mad: false });
  c.update(t);
  const s = c.result();
  return { min: s.min, max: s.max, mean: s.mean };
}

/**
 * An activation's statistics from the calibration analysis: per channel
 * along `axis` (which must be the analysis's axis 1) or per tensor.
 */
export async function activationChannelRange(ctx: PassContext, v: Value, axis: number | null, pass: string): Promise<ChannelRange> {
  const stats = await ctx.getAnalysis(CALIBRATION_STATS);
  const s = stats.get(v.name);
  if (axis === null) {
    const t = s.perTensor;
    return { min: Float64Array.of(t.min), max: Float64Array.of(t.max), mean: Float64Array.of(t.mean) };
  }
  if (!s.perChannel || s.axis !== axis) {
    throw new NibbleError('E_BAD_OPTION', `${pass}: '${v.name}' is quantized per channel along axis ${axis}, but the calibration statistics have no per-channel statistics there`, {
      pass, value: v.name,
      hint: 'compute calibration statistics per channel (the default), or quantize this value per tensor',
    });
  }
  return { min: s.perChannel.min, max: s.perChannel.max, mean: s.perChannel.mean };
}
