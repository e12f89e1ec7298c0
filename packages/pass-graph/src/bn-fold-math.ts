import { type DType, Tensor } from '@nibble/ir';

/*
 * The arithmetic of folding an inference BatchNormalization
 *   y = gamma * (x - mean) / sqrt(var + eps) + beta
 * into the affine op before it: with s = gamma / sqrt(var + eps) per
 * channel, W' = W * s along the op's output channel and
 * b' = (b - mean) * s + beta. Everything in float64; the results are
 * rounded once to the weight's type when stored.
 */

export interface BnParameters {
  gamma: Float64Array;
  beta: Float64Array;
  mean: Float64Array;
  variance: Float64Array;
  epsilon: number;
}

/** Per-channel multiplier s; the first channel where var + eps is not positive (or s not finite) is reported instead. */
export function bnMultiplier(p: BnParameters): Float64Array | { badChannel: number } {
  const s = new Float64Array(p.gamma.length);
  for (let c = 0; c < s.length; c++) {
    const d = p.variance[c] + p.epsilon;
    s[c] = p.gamma[c] / Math.sqrt(d);
    if (!(d > 0) || !Number.isFinite(s[c])) return { badChannel: c };
  }
  return s;
}

/**
 * Where the output channel of a weight element lies:
 * - 'conv': Conv weights [M, C/group, k...], channel = first index;
 * - 'conv-transpose': ConvTranspose weights [C, M/group, k...], channel =
 *   group * (M/group) + second index, the group being first index / (C/group);
 * - 'gemm-rows': Gemm B with transB=1, [N, K], channel = row;
 * - 'gemm-cols': Gemm B with transB=0, [K, N], channel = column.
 */
export type WeightLayout = 'conv' | 'conv-transpose' | 'gemm-rows' | 'gemm-cols';

export function outputChannels(layout: WeightLayout, shape: readonly number[], group: number): number {
  switch (layout) {
    case 'conv': return shape[0];
    case 'conv-transpose': return shape[1] * group;
    case 'gemm-rows': return shape[0];
    case 'gemm-cols': return shape[1];
  }
}

export function channelOfElement(layout: WeightLayout, shape: readonly number[], group: number): (i: number) => number {
  const size = shape.reduce((a, b) => a * b, 1);
  switch (layout) {
    case 'conv':
    case 'gemm-rows': {
      const per = size / shape[0];
      return (i) => Math.floor(i / per);
    }
    case 'gemm-cols':
      return (i) => i % shape[1];
    case 'conv-transpose': {
      const [cin, coutPerGroup] = shape;
      const kernel = size / (cin * coutPerGroup);
      const cinPerGroup = cin / group;
      return (i) => {
        const ci = Math.floor(i / (coutPerGroup * kernel));
        const j = Math.floor(i / kernel) % coutPerGroup;
        return Math.floor(ci / cinPerGroup) * coutPerGroup + j;
      };
    }
  }
}

/** Store float64 values in a float dtype, one rounding. */
export function storeFloat(dtype: DType, shape: readonly number[], values: Float64Array): Tensor {
  if (dtype === 'float32') return new Tensor('float32', shape, Float32Array.from(values));
  if (dtype === 'float64') return new Tensor('float64', shape, values);
  return Tensor.from(dtype, shape, values);
}

/** W * s along the output channel, as a new tensor of W's type. */
export function scaleWeight(w: Tensor, layout: WeightLayout, group: number, s: Float64Array): Tensor {
  const v = w.toFloat64();
  const channel = channelOfElement(layout, w.shape, group);
  for (let i = 0; i < v.length; i++) v[i] *= s[channel(i)];
  return storeFloat(w.dtype, w.shape, v);
}

/** (b - mean) * s + beta per channel; `b` may be absent (zero). */
export function foldedBias(b: Float64Array | undefined, p: BnParameters, s: Float64Array): Float64Array {
  const out = new Float64Array(s.length);
  for (let c = 0; c < s.length; c++) out[c] = ((b ? b[c] : 0) - p.mean[c]) * s[c] + p.beta[c];
  return out;
}
