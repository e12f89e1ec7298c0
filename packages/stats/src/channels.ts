import { NibbleError, Tensor } from '@nibble/ir';

/** Storage the collectors read: activations are float32, references may be float64. */
export type StatsData = Float32Array | Float64Array;

/** A batch as the collectors see it: dense row-major values and their shape. */
export interface StatsInput {
  readonly data: StatsData;
  readonly shape: readonly number[];
}

/** What `update` accepts: an IR tensor (any numeric dtype) or raw float storage. */
export type CollectorInput = Tensor | StatsInput;

/** Where a collector is, for error messages: the value name (e.g. a conv output). */
export function describeWhere(name: string | undefined): string {
  return name ? `statistics of '${name}'` : 'statistics';
}

export function asStatsInput(input: CollectorInput, where: string): StatsInput {
  if (input instanceof Tensor) {
    if (input.dtype === 'float32' || input.dtype === 'float64') {
      return { data: input.data as StatsData, shape: input.shape };
    }
    if (input.dtype === 'string') {
      throw new NibbleError('E_UNSUPPORTED', `${where}: string tensors have no statistics`);
    }
    // Other numeric dtypes are rare here (e.g. int8 inputs); float64 holds them all exactly.
    return { data: input.toFloat64(), shape: input.shape };
  }
  let size = 1;
  for (const d of input.shape) size *= d;
  if (size !== input.data.length) {
    throw new NibbleError('E_SHAPE', `${where}: shape [${input.shape.join(',')}] needs ${size} values, got ${input.data.length}`);
  }
  return input;
}

/**
 * A tensor seen as [outer, channels, inner] around the channel axis: channel c
 * of block o is the contiguous run data[(o * channels + c) * inner, + inner).
 * Per-tensor collection is the special case channels = 1, outer = 1.
 */
export interface ChannelSplit {
  readonly outer: number;
  readonly channels: number;
  readonly inner: number;
}

/** Normalises a possibly negative axis; null means per tensor. */
export function normalizeAxis(axis: number | null, rank: number, where: string): number | null {
  if (axis === null) return null;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new NibbleError('E_BAD_OPTION', `${where}: channel axis ${axis} is outside a rank-${rank} tensor`, {
      option: 'axis',
      hint: `use an axis in [${-rank}, ${rank - 1}] (1 for NCHW activations, -1 for NHWC), or null for per-tensor statistics`,
    });
  }
  return axis < 0 ? axis + rank : axis;
}

export function splitAtAxis(shape: readonly number[], axis: number | null, where: string): ChannelSplit {
  const a = normalizeAxis(axis, shape.length, where);
  let size = 1;
  for (const d of shape) size *= d;
  if (a === null) return { outer: 1, channels: 1, inner: size };
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < a; i++) outer *= shape[i];
  for (let i = a + 1; i < shape.length; i++) inner *= shape[i];
  return { outer, channels: shape[a], inner };
}

/** Below this run length a strided copy beats one typed-array `set` per run. */
const SET_MIN_RUN = 16;

/**
 * Hands out the values of one channel as one contiguous array, so that every
 * statistic's inner loop runs over contiguous memory whatever the axis. No copy
 * when the channel already is contiguous (per tensor, or a single outer block).
 */
export class ChannelGather {
  private f32 = new Float32Array(0);
  private f64 = new Float64Array(0);

  channel(input: StatsInput, split: ChannelSplit, c: number): StatsData {
    const { outer, channels, inner } = split;
    const data = input.data;
    if (outer === 1) return data.subarray(c * inner, (c + 1) * inner);
    const n = outer * inner;
    const out = this.scratch(data, n);
    const stride = channels * inner;
    if (inner >= SET_MIN_RUN) {
      for (let o = 0; o < outer; o++) {
        const base = o * stride + c * inner;
        out.set(data.subarray(base, base + inner), o * inner);
      }
    } else {
      let k = 0;
      for (let o = 0; o < outer; o++) {
        const base = o * stride + c * inner;
        for (let i = 0; i < inner; i++) out[k++] = data[base + i];
      }
    }
    return out;
  }

  private scratch(like: StatsData, n: number): StatsData {
    if (like instanceof Float32Array) {
      if (this.f32.length < n) this.f32 = new Float32Array(n);
      return this.f32.subarray(0, n);
    }
    if (this.f64.length < n) this.f64 = new Float64Array(n);
    return this.f64.subarray(0, n);
  }
}

/** Checks that a batch has the channel count the collector started with. */
export function checkChannels(split: ChannelSplit, expected: number | undefined, where: string, axis: number | null): void {
  if (expected !== undefined && split.channels !== expected) {
    throw new NibbleError('E_SHAPE', `${where}: batch has ${split.channels} channels along axis ${axis}, earlier batches had ${expected}`, {
      hint: 'feed a collector batches of one tensor only',
    });
  }
}

export function nonFinite(where: string, channel: number | null): NibbleError {
  const at = channel === null ? '' : ` (channel ${channel})`;
  return new NibbleError('E_NUMERIC', `${where}: the batch holds NaN or an infinity${at}`, {
    hint: 'the model produced non-finite activations on this input; check the model and the preprocessing',
  });
}
