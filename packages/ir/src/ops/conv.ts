import type { Node } from '../graph';
import {
  type Dims, defineOp, fmtDims, inDtype, inShape, isNum, shapeError, typeOf, unifyDim, unknownDims,
} from './infer-util';

/*
 * Convolutions and the sliding-window arithmetic they share with pooling.
 * Output extent along one spatial axis, with dk = dilation * (kernel - 1) + 1:
 *   explicit pads: floor((in + pad_begin + pad_end - dk) / stride) + 1
 *   (ceil instead of floor under ceil_mode, dropping a last window that
 *   would start inside the end padding), SAME_UPPER/SAME_LOWER:
 *   ceil(in / stride), VALID: floor((in - dk) / stride) + 1.
 */

export interface WindowAttrs {
  kernel: (number | null)[];
  strides: number[];
  dilations: number[];
  pads: number[];
  autoPad: string;
  ceilMode: boolean;
}

const AUTO_PADS = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

export function readWindowAttrs(node: Node, kernel: (number | null)[]): WindowAttrs {
  const n = kernel.length;
  const ones = Array.from({ length: n }, () => 1);
  const strides = node.getInts('strides', ones);
  const dilations = node.getInts('dilations', ones);
  const pads = node.getInts('pads', Array.from({ length: 2 * n }, () => 0));
  const autoPad = node.getString('auto_pad', 'NOTSET');
  if (strides.length !== n) throw shapeError(node, `strides has ${strides.length} entries for ${n} spatial axes`);
  if (dilations.length !== n) throw shapeError(node, `dilations has ${dilations.length} entries for ${n} spatial axes`);
  if (pads.length !== 2 * n) throw shapeError(node, `pads has ${pads.length} entries for ${n} spatial axes (needs ${2 * n})`);
  if (!AUTO_PADS.includes(autoPad)) throw shapeError(node, `auto_pad '${autoPad}' is not one of ${AUTO_PADS.join(', ')}`);
  if ([...strides, ...dilations].some((v) => !(v >= 1))) throw shapeError(node, 'strides and dilations must be >= 1');
  return { kernel, strides, dilations, pads, autoPad, ceilMode: node.getInt('ceil_mode', 0) !== 0 };
}

/** Spatial output dims of a sliding window over `spatial` input dims. */
export function windowOutput(node: Node, spatial: Dims, a: WindowAttrs): Dims {
  return spatial.map((inDim, i) => {
    const k = a.kernel[i];
    const s = a.strides[i];
    if (!isNum(inDim)) return null;
    if (a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER') return Math.ceil(inDim / s);
    if (!isNum(k)) return null;
    const dk = a.dilations[i] * (k - 1) + 1;
    const begin = a.autoPad === 'VALID' ? 0 : a.pads[i];
    const end = a.autoPad === 'VALID' ? 0 : a.pads[i + spatial.length];
    const span = inDim + begin + end - dk;
    if (span < 0) {
      throw shapeError(node, `window of extent ${dk} does not fit spatial axis ${i} of extent ${inDim} padded by ${begin}+${end}`);
    }
    let out = (a.ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (a.ceilMode && (out - 1) * s >= inDim + begin) out--;
    return out;
  });
}

function kernelDims(node: Node, w: Dims | undefined, n: number): (number | null)[] {
  const attrKernel = node.attributes.get('kernel_shape');
  if (attrKernel?.type === 'ints') {
    if (attrKernel.value.length !== n) throw shapeError(node, `kernel_shape has ${attrKernel.value.length} entries for ${n} spatial axes`);
    w?.slice(2).forEach((d, i) => unifyDim(node, attrKernel.value[i], d, `kernel_shape disagrees with weight dim ${i + 2}`));
    return attrKernel.value;
  }
  return w ? w.slice(2).map((d) => (isNum(d) ? d : null)) : Array.from({ length: n }, () => null);
}

function spatialRank(node: Node, x: Dims | undefined, w: Dims | undefined): number | undefined {
  if (x && w && x.length !== w.length) throw shapeError(node, `input ${fmtDims(x)} and weight ${fmtDims(w)} differ in rank`);
  const rank = x?.length ?? w?.length;
  if (rank === undefined) return undefined;
  if (rank < 3) throw shapeError(node, `input rank ${rank} is too small: expected [N, C, spatial...]`);
  return rank - 2;
}

function checkBias(node: Node, bias: Dims | undefined, channels: number | string | null): void {
  if (!bias) return;
  if (bias.length !== 1) throw shapeError(node, `bias ${fmtDims(bias)} must be 1-D`);
  unifyDim(node, bias[0], channels, 'bias length differs from output channels');
}

/** Output shape of Conv: x [N, C, D...], w [M, C/group, k...], optional bias [M]. */
export function convOutputShape(node: Node, x: Dims | undefined, w: Dims | undefined, bias?: Dims): Dims | undefined {
  const n = spatialRank(node, x, w);
  if (n === undefined) return undefined;
  const group = node.getInt('group', 1);
  const c = x?.[1];
  const wc = w?.[1];
  if (isNum(c) && isNum(wc) && c !== wc * group) {
    throw shapeError(node, `input has ${c} channels but weight ${fmtDims(w)} with group=${group} expects ${wc * group}`);
  }
  const m = w ? w[0] : null;
  if (isNum(m) && m % group !== 0) throw shapeError(node, `${m} output channels do not divide into group=${group}`);
  checkBias(node, bias, m);
  const attrs = readWindowAttrs(node, kernelDims(node, w, n));
  if (!x) return [null, m, ...unknownDims(n)];
  return [x[0], m, ...windowOutput(node, x.slice(2), attrs)];
}

/** Output shape of ConvTranspose: x [N, C, D...], w [C, M/group, k...]. */
export function convTransposeOutputShape(node: Node, x: Dims | undefined, w: Dims | undefined, bias?: Dims): Dims | undefined {
  const n = spatialRank(node, x, w);
  if (n === undefined) return undefined;
  const group = node.getInt('group', 1);
  unifyDim(node, x?.[1] ?? null, w?.[0] ?? null, 'input channels differ from weight dim 0');
  const wm = w?.[1];
  const m = isNum(wm) ? wm * group : null;
  checkBias(node, bias, m);
  const a = readWindowAttrs(node, kernelDims(node, w, n));
  const outPad = node.getInts('output_padding', unknownDims(n).map(() => 0));
  const outShape = node.getInts('output_shape', []);
  if (!x) return [null, m, ...unknownDims(n)];
  const spatial = x.slice(2).map((inDim, i) => {
    if (outShape.length) return outShape[outShape.length - n + i];
    const k = a.kernel[i];
    if (!isNum(inDim)) return null;
    if (a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER') return inDim * a.strides[i];
    if (!isNum(k)) return null;
    const dk = a.dilations[i] * (k - 1) + 1;
    const pads = a.autoPad === 'VALID' ? 0 : a.pads[i] + a.pads[i + n];
    const out = a.strides[i] * (inDim - 1) + (outPad[i] ?? 0) + dk - pads;
    if (out < 1) throw shapeError(node, `spatial axis ${i} would have extent ${out}`);
    return out;
  });
  return [x[0], m, ...spatial];
}

defineOp('Conv', 'N-d convolution with pads, strides, dilations and groups', (node) => [
  typeOf(inDtype(node, 0), convOutputShape(node, inShape(node, 0), inShape(node, 1), inShape(node, 2))),
]);

defineOp('ConvTranspose', 'N-d transposed convolution', (node) => [
  typeOf(inDtype(node, 0), convTransposeOutputShape(node, inShape(node, 0), inShape(node, 1), inShape(node, 2))),
]);

defineOp('ConvInteger', 'integer convolution with zero points, int32 result', (node) => [
  typeOf('int32', convOutputShape(node, inShape(node, 0), inShape(node, 1))),
]);
