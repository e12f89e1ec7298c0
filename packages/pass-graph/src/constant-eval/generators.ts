import { type Node, Tensor } from '@nibble/ir';
import { bigintsOf, buildTensor, elementReader, floatTensor, INT_BITS, intsOf, intTensor, required, shapeError, wrapInt } from './tensor-util';
import { CannotFold } from './types';

/*
 * Ops that create tensors from a few scalars. Their outputs can be far larger
 * than their inputs; the pass bounds that (fold-constants{max-elements}).
 */

/** Element count Range would produce, without producing it (for the size bound). */
export function rangeCount(node: Node, inputs: readonly (Tensor | null)[]): number {
  const [start, limit, delta] = [0, 1, 2].map((i) => required(node, inputs, i, ['start', 'limit', 'delta'][i]));
  if (start.size !== 1 || limit.size !== 1 || delta.size !== 1) throw shapeError(node, 'start, limit and delta must be scalars');
  if (INT_BITS[start.dtype]) {
    const [s, l, d] = [start, limit, delta].map((t) => bigintsOf(t)[0]);
    if (d === 0n) throw shapeError(node, 'delta is 0');
    const span = l - s;
    // Ceiling division that is exact for bigints of either sign.
    const q = span / d;
    const n = q * d === span ? q : span > 0n === d > 0n ? q + 1n : q;
    return Number(n > 0n ? n : 0n);
  }
  const [s, l, d] = [start, limit, delta].map((t) => t.toFloat64()[0]);
  if (d === 0) throw shapeError(node, 'delta is 0');
  const span = start.dtype === 'float32' ? Math.fround(l - s) : l - s;
  return Math.max(Math.ceil(span / d), 0);
}

/**
 * Range: element i is start + delta added i times, accumulated in the
 * tensor type (as the ONNX function body's loop and runtimes do, which for
 * floats differs from start + i * delta).
 */
export function evalRange(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const n = rangeCount(node, inputs);
  const start = inputs[0]!;
  const dtype = start.dtype;
  if (INT_BITS[dtype]) {
    const s = bigintsOf(start)[0];
    const d = bigintsOf(inputs[2]!)[0];
    const out = new Array<bigint>(n);
    for (let i = 0, v = s; i < n; i++, v = wrapInt(dtype, v + d)) out[i] = v;
    return [intTensor(dtype, [n], out)];
  }
  if (dtype !== 'float32' && dtype !== 'float64') throw new CannotFold(node, `Range of ${dtype} is not folded`);
  const round = dtype === 'float32' ? Math.fround : (x: number): number => x;
  const s = start.toFloat64()[0];
  const d = inputs[2]!.toFloat64()[0];
  const out = new Float64Array(n);
  for (let i = 0, v = s; i < n; i++, v = round(v + d)) out[i] = v;
  return [floatTensor(dtype, [n], out)];
}

export function constantOfShapeDims(node: Node, inputs: readonly (Tensor | null)[]): number[] {
  const dims = intsOf(node, required(node, inputs, 0, 'shape'), 'shape');
  if (dims.some((d) => d < 0)) throw shapeError(node, `shape [${dims.join(',')}] has a negative extent`);
  return dims;
}

/** ConstantOfShape: the one-element `value` attribute (default float32 0) repeated. */
export function evalConstantOfShape(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const dims = constantOfShapeDims(node, inputs);
  const value = node.getAttr('value', 'tensor') ?? Tensor.from('float32', [1], [0]);
  if (value.size !== 1) throw shapeError(node, `'value' must hold one element, it holds ${value.size}`);
  const read = elementReader(value);
  return [buildTensor(value.dtype, dims, () => read(0))];
}
