import { DTYPES } from '../dtype';
import type { DType } from '../dtype';
import { constantNodeTensor, knownFromTensor } from './context';
import { defineOp, inDtype, inShape, isNum, shapeError, typeOf, unknownDims } from './infer-util';

/* Ops that create tensors from attributes or scalars: Constant, ConstantOfShape, Range. */

const SMALL = 64;

defineOp('Constant', 'a tensor given as attribute (value, value_float(s), value_int(s), value_string(s))', (node) => {
  const t = constantNodeTensor(node);
  if (!t && node.attributes.size > 0 && !node.attributes.has('sparse_value')) {
    throw shapeError(node, `no value attribute among ${[...node.attributes.keys()].join(', ')}`);
  }
  return [t && typeOf(t.dtype, [...t.shape])];
}, (node) => {
  const t = constantNodeTensor(node);
  return [t && knownFromTensor(t)];
});

function fillValue(node: Parameters<typeof constantNodeTensor>[0]): { dtype: DType; value: number } {
  const v = node.attributes.get('value');
  if (v?.type !== 'tensor') return { dtype: 'float32', value: 0 };
  if (v.value.size !== 1) throw shapeError(node, `value must hold one element, holds ${v.value.size}`);
  return { dtype: v.value.dtype, value: v.value.dtype === 'string' ? 0 : v.value.toNumbers()[0] };
}

defineOp('ConstantOfShape', 'a tensor of the input shape filled with one value', (node, ctx) => {
  const { dtype } = fillValue(node);
  const shape = ctx.known(node.inputs[0])?.data;
  if (shape) return [typeOf(dtype, [...shape])];
  const len = inShape(node, 0)?.[0];
  return [typeOf(dtype, isNum(len) ? unknownDims(len) : undefined)];
}, (node, ctx) => {
  const { dtype, value } = fillValue(node);
  const shape = ctx.known(node.inputs[0])?.data;
  if (!shape || !shape.every(isNum)) return [undefined];
  const n = (shape as number[]).reduce((a, b) => a * b, 1);
  return [n <= SMALL ? { dtype, shape: shape as number[], data: Array.from({ length: n }, () => value) } : undefined];
});

defineOp('Range', 'start, start + delta, ... up to limit (exclusive)', (node, ctx) => {
  const dtype = inDtype(node, 0) ?? inDtype(node, 1) ?? inDtype(node, 2);
  const [start, limit, delta] = [0, 1, 2].map((i) => ctx.known(node.inputs[i])?.data[0]);
  if (isNum(start) && isNum(limit) && isNum(delta)) {
    if (delta === 0) throw shapeError(node, 'delta is 0');
    return [typeOf(dtype, [Math.max(Math.ceil((limit - start) / delta), 0)])];
  }
  return [typeOf(dtype, [null])];
}, (node, ctx) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => ctx.known(node.inputs[i])?.data[0]);
  const dtype = inDtype(node, 0);
  if (!dtype || !isNum(start) || !isNum(limit) || !isNum(delta) || delta === 0) return [undefined];
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  if (n > SMALL || !DTYPES[dtype]) return [undefined];
  return [{ dtype, shape: [n], data: Array.from({ length: n }, (_, i) => start + i * delta) }];
});
