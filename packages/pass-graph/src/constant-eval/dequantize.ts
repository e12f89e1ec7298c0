import { type Node, type Tensor } from '@nibble/ir';
import { floatTensor, INT_BITS, normalizeAxis, required, shapeError, strides } from './tensor-util';
import { CannotFold } from './types';

/**
 * The scale/zero-point entry of every element of x: per tensor (scalar or
 * one-element scale), per axis (1-D scale along `axis`), or blocked (scale of
 * x's rank, `block_size` consecutive elements along `axis` sharing one entry).
 */
function paramIndex(node: Node, x: Tensor, scale: Tensor): (i: number) => number {
  if (scale.size === 1 && scale.rank <= 1) return () => 0;
  const axis = normalizeAxis(node, node.getInt('axis', 1), x.rank);
  const block = node.getInt('block_size', 0);
  const xStrides = strides(x.shape);
  const coord = (i: number, a: number): number => Math.floor(i / xStrides[a]) % x.shape[a];
  if (block <= 0) {
    if (scale.rank !== 1 || scale.shape[0] !== x.shape[axis]) {
      throw shapeError(node, `per-axis scale [${scale.shape.join(',')}] does not match axis ${axis} of [${x.shape.join(',')}]`);
    }
    return (i) => coord(i, axis);
  }
  const expected = x.shape.map((d, a) => (a === axis ? Math.ceil(d / block) : d));
  if (scale.rank !== x.rank || scale.shape.some((d, a) => d !== expected[a])) {
    throw shapeError(node, `blocked scale [${scale.shape.join(',')}] does not fit [${x.shape.join(',')}] with block_size ${block} on axis ${axis}`);
  }
  const sStrides = strides(scale.shape);
  return (i) => {
    let s = 0;
    for (let a = 0; a < x.rank; a++) s += (a === axis ? Math.floor(coord(i, a) / block) : coord(i, a)) * sStrides[a];
    return s;
  };
}

/**
 * DequantizeLinear on constant (typically weight) tensors:
 * y = (x - zero_point) * scale, as runtimes compute it in float32: the
 * integer difference converted to float32, multiplied in float32, then
 * rounded to the scale's type (float16 scales round a second time, as the
 * runtime does).
 */
export function evalDequantizeLinear(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const x = required(node, inputs, 0, 'x');
  const scale = required(node, inputs, 1, 'x_scale');
  const zp = inputs[2] ?? null;
  if (!INT_BITS[x.dtype] && x.dtype !== 'int4' && x.dtype !== 'uint4') throw new CannotFold(node, `dequantizing ${x.dtype} is not folded`);
  if (x.dtype === 'int64' || x.dtype === 'uint64' || x.dtype === 'uint32') throw new CannotFold(node, `dequantizing ${x.dtype} is not folded`);
  if (scale.dtype !== 'float32' && scale.dtype !== 'float16') throw new CannotFold(node, `scale of type ${scale.dtype} is not folded`);
  if (zp && zp.dtype !== x.dtype) throw shapeError(node, `zero point is ${zp.dtype} but x is ${x.dtype}`);
  if (zp && (zp.rank !== scale.rank || zp.shape.some((d, i) => d !== scale.shape[i]))) {
    throw shapeError(node, `zero point [${zp.shape.join(',')}] and scale [${scale.shape.join(',')}] differ in shape`);
  }
  const at = paramIndex(node, x, scale);
  const xv = x.toFloat64();
  const sv = scale.toFloat64();
  const zv = zp ? zp.toFloat64() : new Float64Array(scale.size);
  const out = new Float64Array(x.size);
  for (let i = 0; i < x.size; i++) {
    const k = at(i);
    out[i] = Math.fround(Math.fround(xv[i] - zv[k]) * sv[k]);
  }
  return [floatTensor(scale.dtype, x.shape, out)];
}
