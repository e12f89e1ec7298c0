import { type DType, dtypeFromOnnx, NibbleError, type Node, type Tensor } from '@nibble/ir';
import { bigintsOf, floatTensor, INT_BITS, intTensor, isFloatDtype, required, wrapInt } from './tensor-util';
import { CannotFold } from './types';

export function evalIdentity(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  return [required(node, inputs, 0, 'input')];
}

function targetDtype(node: Node): DType {
  const to = node.getAttr('to', 'int');
  if (to === undefined) {
    throw new NibbleError('E_INVALID_GRAPH', `node '${node.name}' (Cast) has no 'to' attribute`, { node: node.name, op: 'Cast' });
  }
  return dtypeFromOnnx(to, `node '${node.name}' (Cast) attribute 'to'`);
}

/** float -> integer truncates toward zero (C++ static_cast, what runtimes do); NaN or out of range is undefined in ONNX, so not folded. */
function floatToInt(node: Node, x: number, to: DType): bigint {
  if (!Number.isFinite(x)) throw new CannotFold(node, `casting ${x} to ${to} is undefined`);
  const v = BigInt(Math.trunc(x));
  if (wrapInt(to, v) !== v) throw new CannotFold(node, `casting ${x} to ${to} is out of range, which ONNX leaves undefined`);
  return v;
}

/**
 * Cast between numeric types and bool with the conversions runtimes make:
 * to float32/float16 one round-to-nearest-even from the exact value, to an
 * integer truncation (floats) or two's-complement wrap (integers), to bool
 * x != 0. String, int4 targets and float8's saturate are not folded.
 */
export function evalCast(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const x = required(node, inputs, 0, 'input');
  const to = targetDtype(node);
  if (x.dtype === to) return [x];
  if (x.dtype === 'string' || to === 'string') throw new CannotFold(node, 'casts to or from string are not folded');
  if (to === 'int4' || to === 'uint4') throw new CannotFold(node, `casts to ${to} are not folded`);
  const shape = x.shape;
  if (to === 'bool') {
    const v = x.toFloat64();
    return [floatTensor('bool', shape, Array.from(v, (a) => (a !== 0 ? 1 : 0)))];
  }
  if (isFloatDtype(to)) {
    // int64 beyond 2^53 would round twice on the way through a double: refuse rather than be off by one ulp.
    if (x.dtype === 'int64' || x.dtype === 'uint64') {
      for (const b of bigintsOf(x)) if (BigInt(Number(b)) !== b && to !== 'float64') throw new CannotFold(node, `${b} does not convert exactly through a double`);
    }
    return [floatTensor(to, shape, x.toFloat64())];
  }
  if (!INT_BITS[to]) throw new CannotFold(node, `casts to ${to} are not folded`);
  if (isFloatDtype(x.dtype)) {
    const v = x.toFloat64();
    return [intTensor(to, shape, Array.from(v, (a) => floatToInt(node, a, to)))];
  }
  return [intTensor(to, shape, bigintsOf(x).map((b) => wrapInt(to, b)))];
}
