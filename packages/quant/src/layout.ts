import { NibbleError, Shape, shapeSize } from '@nibble/ir';

/**
 * How a flat row-major tensor splits around a channel axis: element
 * (o, c, j) sits at ((o * channels) + c) * inner + j. Per-tensor (axis null)
 * is one channel spanning everything.
 */
export interface ChannelLayout {
  readonly axis: number | null;
  readonly outer: number;
  readonly channels: number;
  readonly inner: number;
  readonly size: number;
}

/** Normalises a possibly negative axis against a rank; a typed error when it is out of range. */
export function normalizeAxis(axis: number, rank: number, where = 'tensor'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new NibbleError('E_BAD_OPTION', `${where}: axis ${axis} is out of range for rank ${rank}`, {
      option: 'axis',
      value: where,
      hint: `use an axis in [${-rank}, ${rank - 1}]`,
    });
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * The layout of `shape` split at `axis`. `channels`, when given, must equal
 * the axis length (the parameter count of a per-channel quantizer).
 */
export function channelLayout(shape: Shape, axis: number | null, channels?: number, where = 'tensor'): ChannelLayout {
  const size = shapeSize(shape, where);
  if (axis === null) {
    if (channels !== undefined && channels !== 1) {
      throw new NibbleError('E_SHAPE', `${where}: per-tensor quantization needs 1 parameter set, got ${channels}`, { value: where });
    }
    return { axis: null, outer: 1, channels: 1, inner: size, size };
  }
  const a = normalizeAxis(axis, shape.length, where);
  const n = shape[a];
  if (channels !== undefined && channels !== n) {
    throw new NibbleError(
      'E_SHAPE',
      `${where}: axis ${a} of [${shape.join(',')}] has ${n} channels but the parameters have ${channels}`,
      { value: where, hint: 'compute the parameters along the same axis as the tensor being quantized' },
    );
  }
  let outer = 1;
  for (let i = 0; i < a; i++) outer *= shape[i];
  let inner = 1;
  for (let i = a + 1; i < shape.length; i++) inner *= shape[i];
  return { axis: a, outer, channels: n, inner, size };
}

/** Throws E_NUMERIC naming the tensor when a value is NaN or infinite. */
export function assertFinite(x: ArrayLike<number>, where = 'tensor'): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new NibbleError('E_NUMERIC', `${where}: element ${i} is ${x[i]}`, {
        value: where,
        hint: 'the model or its input produced NaN/Inf; check the float model on the same data first',
      });
    }
  }
}

/** Per-channel minimum and maximum (float64), NaN/Inf rejected. */
export function channelMinMax(x: ArrayLike<number>, shape: Shape, axis: number | null, where = 'tensor'): { lo: Float64Array; hi: Float64Array } {
  const L = channelLayout(shape, axis, undefined, where);
  const lo = new Float64Array(L.channels).fill(Infinity);
  const hi = new Float64Array(L.channels).fill(-Infinity);
  let i = 0;
  for (let o = 0; o < L.outer; o++) {
    for (let c = 0; c < L.channels; c++) {
      for (let j = 0; j < L.inner; j++, i++) {
        const v = x[i];
        if (!Number.isFinite(v)) assertFinite([v], `${where}[${i}]`);
        if (v < lo[c]) lo[c] = v;
        if (v > hi[c]) hi[c] = v;
      }
    }
  }
  if (L.size === 0) { lo.fill(0); hi.fill(0); }
  return { lo, hi };
}
