import type { Node, Tensor } from '@nibble/ir';
import { broadcastIndex, broadcastShape } from './broadcast';
import { bigintsOf, floatTensor, INT_BITS, intTensor, required, shapeError, wrapInt } from './tensor-util';
import { CannotFold } from './types';

/*
 * Add, Sub, Mul, Div with numpy broadcasting, bit-exact to IEEE arithmetic
 * in the tensors' own type: a float32 result is the exact result rounded once
 * to float32 (Math.fround of the double result: for + - * / a double holds
 * enough bits that rounding twice equals rounding once), float16 likewise,
 * integers exactly in bigint with two's-complement wrap, division truncating
 * toward zero as C++ does.
 */

type FloatOp = (a: number, b: number) => number;
type IntOp = (node: Node, a: bigint, b: bigint) => bigint;

function binary(node: Node, inputs: readonly (Tensor | null)[], floatOp: FloatOp, intOp: IntOp): Tensor[] {
  const a = required(node, inputs, 0, 'A');
  const b = required(node, inputs, 1, 'B');
  if (a.dtype !== b.dtype) throw shapeError(node, `operands are ${a.dtype} and ${b.dtype}`);
  const shape = broadcastShape(node, [a.shape, b.shape]);
  const size = shape.reduce((p, q) => p * q, 1);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const dtype = a.dtype;
  if (dtype === 'float32' || dtype === 'float64' || dtype === 'float16') {
    const x = a.toFloat64();
    const y = b.toFloat64();
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = floatOp(x[ia(i)], y[ib(i)]);
    // floatTensor rounds each exact double result once to the dtype.
    return [floatTensor(dtype, shape, out)];
  }
  if (INT_BITS[dtype]) {
    const x = bigintsOf(a);
    const y = bigintsOf(b);
    const out = new Array<bigint>(size);
    for (let i = 0; i < size; i++) out[i] = wrapInt(dtype, intOp(node, x[ia(i)], y[ib(i)]));
    return [intTensor(dtype, shape, out)];
  }
  throw new CannotFold(node, `arithmetic on ${dtype} is not folded`);
}

export function evalAdd(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  return binary(node, inputs, (a, b) => a + b, (_n, a, b) => a + b);
}

export function evalSub(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  return binary(node, inputs, (a, b) => a - b, (_n, a, b) => a - b);
}

export function evalMul(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  return binary(node, inputs, (a, b) => a * b, (_n, a, b) => a * b);
}

export function evalDiv(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  return binary(node, inputs, (a, b) => a / b, (n, a, b) => {
    if (b === 0n) throw new CannotFold(n, 'integer division by zero');
    return a / b;
  });
}
