import { constantTensor, type Node, Tensor, type Value } from '@nibble/ir';
import { tfliteError } from './grid';
import { layerMultiplier, requantOffset } from './requant';

/*
 * Filters and biases of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED from
 * the quantized IR, where a weight is DequantizeLinear(q, scale, zero_point)
 * of an int4/int8 constant (docs/quantized-ir.md). TFLite's int8 filters
 * are symmetric (zero point 0) and per output channel: the IR must have been
 * quantized with symmetric weights, which the targets' constraints ask for.
 * The levels are copied, never requantized; only their order changes (ONNX
 * OIHW to TFLite OHWI, or [1, H, W, O] for a depthwise filter).
 */

export type FilterLayout = 'conv' | 'depthwise' | 'fc';

export interface Filter {
  shape: number[];
  /** Levels in TFLite order. */
  levels: Int8Array;
  scale: number[];
  /** TFLite's quantized_dimension: 0 for conv/FC filters, 3 for depthwise [1, H, W, O]. */
  axis: number;
  /** Widest level magnitude fits int4 ([-8, 7]): the filter can be stored as INT4. */
  fitsInt4: boolean;
}

/** The DequantizeLinear behind a layer's weight input, with its constant levels, scales and zero points. */
function weightOf(node: Node, w: Value, target: string): { q: Tensor; scale: Float64Array; axis: number | null } {
  const dq = w.producer;
  const q = dq?.opType === 'DequantizeLinear' ? constantTensor(dq.inputs[0]) : undefined;
  if (!dq || !q || !q.dtype.startsWith('int')) {
    throw tfliteError(target, node, w, 'the weight is not an integer constant behind DequantizeLinear (float weights, or a weight corrected by a float Add)',
      'quantize the weights (quant-policy, quantize) and fold bias correction into the bias (bias-correct{fold=bias})');
  }
  const scale = constantTensor(dq.inputs[1])?.toFloat64();
  const zp = dq.inputs[2] ? constantTensor(dq.inputs[2])?.toFloat64() : new Float64Array(1);
  if (!scale || !zp) throw tfliteError(target, node, w, 'the weight\'s scale or zero point is not constant', 'quantize the weights with nibble\'s quantize pass');
  if (zp.some((z) => z !== 0)) {
    throw tfliteError(target, node, w, 'the weight has non-zero zero points (constraint: symmetric int8 filters)',
      `quantize with the target's plan (quantize{symmetric-weights=true}, bias-correct{fold=bias,zero-point=false}): nibble quantize --target ${target}`);
  }
  return { q, scale, axis: scale.length > 1 ? dq.getInt('axis', 1) : null };
}

/**
 * The TFLite filter of a Conv (layout conv or depthwise) or Gemm (fc) node's
 * weight. `transposed` is Gemm's transB = 0 ([K, O] weights).
 */
export function filterOf(node: Node, layout: FilterLayout, target: string, transposed = false): Filter {
  const w = node.inputs[1]!;
  const { q, scale, axis } = weightOf(node, w, target);
  const outAxis = layout === 'fc' && transposed ? 1 : 0;
  if (axis !== null && axis !== outAxis) {
    throw tfliteError(target, node, w, `the weight is quantized along axis ${axis}, not its output channels (axis ${outAxis})`, 'quantize weights per output channel (quant-policy{per-channel-weights=true})');
  }
  const v = q.toFloat64();
  const s = q.shape;
  let shape: number[];
  const levels = new Int8Array(v.length);
  if (layout === 'fc') {
    const [o, k] = transposed ? [s[1], s[0]] : [s[0], s[1]];
    shape = [o, k];
    for (let i = 0; i < o; i++) for (let j = 0; j < k; j++) levels[i * k + j] = v[transposed ? j * o + i : i * k + j];
  } else {
    const [o, ci, kh, kw] = s;
    // OIHW -> OHWI (conv) or [1, H, W, O] (depthwise: I = 1, the channel multiplier folded into O).
    shape = layout === 'conv' ? [o, kh, kw, ci] : [1, kh, kw, o];
    for (let a = 0; a < o; a++) for (let i = 0; i < ci; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
      const src = ((a * ci + i) * kh + y) * kw + x;
      const dst = layout === 'conv' ? ((a * kh + y) * kw + x) * ci + i : (y * kw + x) * o + a;
      levels[dst] = v[src];
    }
  }
  let fitsInt4 = true;
  for (const l of levels) if (l < -8 || l > 7) { fitsInt4 = false; break; }
  return { shape, levels, scale: Array.from(scale), axis: layout === 'depthwise' && scale.length > 1 ? 3 : 0, fitsInt4 };
}

/**
 * The TRANSPOSE_CONV filter of a ConvTranspose: ONNX's [C_in, C_out, kH, kW]
 * (group 1) to TFLite's [C_out, kH, kW, C_in], per output channel
 * (quantized_dimension 0). Neither format flips the kernel: both scatter
 * input pixel (y, x) to output (y * stride + ky, x * stride + kx).
 */
export function transposedFilterOf(node: Node, target: string): Filter {
  const w = node.inputs[1]!;
  const { q, scale, axis } = weightOf(node, w, target);
  if (axis !== null && axis !== 1) {
    throw tfliteError(target, node, w, `the weight is quantized along axis ${axis}, not its output channels (axis 1 of a ConvTranspose weight)`, 'quantize weights per output channel (quant-policy{per-channel-weights=true})');
  }
  const [ci, co, kh, kw] = q.shape;
  const v = q.toFloat64();
  const levels = new Int8Array(v.length);
  for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    levels[((o * kh + y) * kw + x) * ci + i] = v[((i * co + o) * kh + y) * kw + x];
  }
  let fitsInt4 = true;
  for (const l of levels) if (l < -8 || l > 7) { fitsInt4 = false; break; }
  return { shape: [co, kh, kw, ci], levels, scale: Array.from(scale), axis: 0, fitsInt4 };
}

/** Levels packed two to a byte, element 2i in the low nibble: the INT4 layout of TFLite's schema. */
export function packInt4(levels: Int8Array): Uint8Array {
  return Tensor.from('int4', [levels.length], levels).data as Uint8Array;
}

/** A layer's int32 bias as written, and the float bias TFLite's requantization then effectively adds (requant.ts). */
export interface TfliteBias {
  values: Int32Array;
  /** The bias tensor's scale: s_in * s_w[c] as float32 (one value for a per-tensor filter). */
  scale: number[];
  /** Per output channel: (values[c] + d_c) * s_in * s_w[c], with d_c TFLite's rounding offset in accumulator units. */
  effective: Float64Array;
}

/**
 * TFLite's int32 bias: b[c] / (s_in * s_w[c]) rounded to the nearest
 * integer after subtracting d_c, the accumulator units TFLite's two-step
 * requantization adds (requantOffset), so that what TFLite adds,
 * values[c] + d_c, is the float bias within half an accumulator step and
 * no longer biased upward. The scale is that product (float32), zero point
 * 0, as its kernels require.
 */
export function biasOf(node: Node, bias: Value | null | undefined, inputScale: number, filter: Filter, outChannels: number, target: string,
  outputScale: number, kind: 'conv' | 'fc', symmetric = false): TfliteBias {
  const b = bias ? constantTensor(bias)?.toFloat64() : new Float64Array(outChannels);
  if (!b || b.length !== outChannels) {
    throw tfliteError(target, node, bias ?? undefined, 'the bias is not a constant of one value per output channel', 'fold the bias into a constant (fold-constants)');
  }
  return biasOfValues(node, b, inputScale, filter, target, outputScale, kind, bias ?? undefined, symmetric);
}

/**
 * A per-channel filter whose channel c has so small a scale that the
 * channel's bias does not fit int32 at s_in * s_w[c] (a dead channel:
 * weights ~1e-15 after folding): the channel's levels become 0 and its
 * scale one at which the bias fits with room (2^-24 of its range), when
 * what the zeroed weights can contribute (sum |levels| * s_w times the
 * widest input, 256 input steps) is below 1e-4 of an output step. The filter
 * tensor shares the arrays, so the file holds the change; returns false
 * (nothing changed) otherwise.
 */
function silenceChannel(filter: Filter, c: number, inputScale: number, bias: number, outputScale: number): boolean {
  const elements = filter.levels.length / filter.scale.length;
  const at = (k: number) => (filter.axis === 0 ? c * elements + k : k * filter.scale.length + c);
  let sum = 0;
  for (let k = 0; k < elements; k++) sum += Math.abs(filter.levels[at(k)]);
  const next = Math.fround(Math.abs(bias) / (inputScale * 2 ** 24));
  if (!(next > filter.scale[c]) || sum * filter.scale[c] * 256 * inputScale > 1e-4 * outputScale) return false;
  for (let k = 0; k < elements; k++) filter.levels[at(k)] = 0;
  filter.scale[c] = next;
  return true;
}

/**
 * biasOf for float bias values given per output channel (a bias that is not
 * a layer's input: the Add of an affine pair). `symmetric`: the operator's
 * kernel rounds symmetrically about zero (DEPTHWISE_CONV_2D,
 * TRANSPOSE_CONV), so no offset is taken off (rounding.ts).
 */
export function biasOfValues(node: Node, b: Float64Array, inputScale: number, filter: Filter, target: string, outputScale: number, kind: 'conv' | 'fc',
  where?: Value, symmetric = false): TfliteBias {
  const outChannels = b.length;
  const values = new Int32Array(outChannels);
  const effective = new Float64Array(outChannels);
  const scale: number[] = [];
  for (let c = 0; c < outChannels; c++) {
    scale.length = c;
    const sw = filter.scale[filter.scale.length > 1 ? c : 0];
    const s = inputScale * sw;
    // Kernels that round symmetrically about zero get the offset as graph arithmetic instead (rounding.ts): the bias is plain.
    const d = symmetric ? 0 : requantOffset(layerMultiplier(inputScale, sw, outputScale, kind));
    let q = Math.round(b[c] / s - d);
    if (Number.isFinite(q) && Math.abs(q) > 2 ** 31 - 1 && filter.scale.length > 1 && silenceChannel(filter, c, inputScale, b[c], outputScale)) {
      // A channel of (nearly) zero weights: its output is its bias, at a filter scale the bias fits (see silenceChannel).
      c--;
      continue;
    }
    if (!Number.isFinite(q) || Math.abs(q) > 2 ** 31 - 1) {
      throw tfliteError(target, node, where, `bias ${b[c]} of channel ${c} does not fit int32 at scale ${s}`, 'check the layer\'s input and weight scales');
    }
    values[c] = q;
    effective[c] = (q + d) * s;
    scale.push(Math.fround(s));
  }
  return { values, scale: filter.scale.length > 1 ? scale : [scale[0]], effective };
}
