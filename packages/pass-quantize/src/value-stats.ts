import type { PassContext } from '@nibble/core';
import type { QuantPoint, Value } from '@nibble/ir';
import { valueStatistics } from '@nibble/stats';

/** Per-channel extremes and means of a marked value (one entry when per tensor). */
export interface ChannelRange {
  min: Float64Array;
  max: Float64Array;
  mean: Float64Array;
}

/** A marked value's range statistics: a weight's from its constant, an activation's from calibration. */
export async function channelRange(ctx: PassContext, v: Value, point: QuantPoint, axis: number | null): Promise<ChannelRange> {
  const s = await valueStatistics(ctx, v, point.kind, { axis, pass: 'quantize', deviation: false });
  return { min: s.min, max: s.max, mean: s.mean };
}
