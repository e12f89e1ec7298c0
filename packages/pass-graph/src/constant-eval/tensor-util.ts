import { type DType, NibbleError, type Node, type Shape, Tensor } from '@nibble/ir';
import { CannotFold } from './types';

/*
 * Element access shared by the evaluators. Data movement (Gather, Slice,
 * Transpose, Concat, ...) copies storage elements as they are: float16 as
 * raw bits, int64 as bigint, strings as bytes, int4 as unpacked nibbles, so
 * a moved value is the identical value, never a float round trip.
 */

export function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

const isPacked = (d: DType): boolean => d === 'int4' || d === 'uint4';

/** Reads storage element i (an unpacked nibble for int4/uint4). */
export function elementReader(t: Tensor): (i: number) => unknown {
  if (isPacked(t.dtype)) {
    const n = t.nibbles();
    return (i) => n[i];
  }
  const d = t.data as ArrayLike<unknown>;
  return (i) => d[i];
}

/** A tensor whose element i is `read(i)`, a storage element as elementReader returns it. */
export function buildTensor(dtype: DType, shape: Shape, read: (i: number) => unknown): Tensor {
  if (isPacked(dtype)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const v = new Int8Array(size);
    for (let i = 0; i < size; i++) v[i] = read(i) as number;
    return Tensor.from(dtype, shape, v);
  }
  const out = new Tensor(dtype, shape);
  const d = out.data as unknown as unknown[];
  for (let i = 0; i < out.size; i++) d[i] = read(i);
  return out;
}

/** Element i of the result is element index[i] of src. */
export function takeElements(src: Tensor, shape: Shape, index: ArrayLike<number>): Tensor {
  const read = elementReader(src);
  return buildTensor(src.dtype, shape, (i) => read(index[i]));
}

export function shapeError(node: Node, message: string): NibbleError {
  return new NibbleError('E_SHAPE', `node '${node.name}' (${node.opType}): ${message}`, {
    node: node.name,
    op: node.opType,
    hint: 'the model computes an impossible shape here; it would fail in any runtime too',
  });
}

/** Input i, which the op requires. */
export function required(node: Node, inputs: readonly (Tensor | null)[], i: number, what: string): Tensor {
  const t = inputs[i];
  if (!t) throw new NibbleError('E_INVALID_GRAPH', `node '${node.name}' (${node.opType}) has no ${what} (input ${i})`, { node: node.name, op: node.opType });
  return t;
}

function checkIntegerTensor(node: Node, t: Tensor, what: string): void {
  if (t.dtype !== 'int64' && t.dtype !== 'int32') {
    throw new NibbleError('E_SHAPE', `node '${node.name}' (${node.opType}): ${what} must be int64 or int32, got ${t.dtype}`, { node: node.name, op: node.opType });
  }
}

/** Integer values of a small int64/int32 tensor (shapes, axes, indices); values beyond 2^53 cannot be exact and are refused. */
export function intsOf(node: Node, t: Tensor, what: string): number[] {
  checkIntegerTensor(node, t, what);
  const values = t.toNumbers();
  for (const v of values) if (!Number.isSafeInteger(v)) throw new CannotFold(node, `${what} holds ${v}, beyond exact integers`);
  return values;
}

/**
 * Integer values where huge ones only mean "to the end" (Slice's starts/ends
 * hold INT64_MAX): they are kept approximately, which clamping makes exact.
 */
export function clampableIntsOf(node: Node, t: Tensor, what: string): number[] {
  checkIntegerTensor(node, t, what);
  return t.toNumbers();
}

/** An axis in [-rank, rank) as a non-negative index. */
export function normalizeAxis(node: Node, axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw shapeError(node, `${what} ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** Axes from the attribute (older opsets) or the given input (newer ones); undefined when neither is there. */
export function axesOf(node: Node, inputs: readonly (Tensor | null)[], input: number): number[] | undefined {
  const attr = node.getAttr('axes', 'ints');
  if (attr !== undefined) return attr;
  const t = inputs[input];
  return t ? intsOf(node, t, 'axes') : undefined;
}

export const isFloatDtype = (d: DType): boolean => d === 'float32' || d === 'float64' || d === 'float16';

/** Integer dtypes whose arithmetic the evaluators do in bigint, with the bit width they wrap at. */
export const INT_BITS: Partial<Record<DType, { bits: number; signed: boolean }>> = {
  int8: { bits: 8, signed: true },
  uint8: { bits: 8, signed: false },
  int16: { bits: 16, signed: true },
  uint16: { bits: 16, signed: false },
  int32: { bits: 32, signed: true },
  uint32: { bits: 32, signed: false },
  int64: { bits: 64, signed: true },
  uint64: { bits: 64, signed: false },
};

/** Two's-complement wrap of an exact integer to the dtype, as C++ integer arithmetic does. */
export function wrapInt(dtype: DType, v: bigint): bigint {
  const info = INT_BITS[dtype]!;
  return info.signed ? BigInt.asIntN(info.bits, v) : BigInt.asUintN(info.bits, v);
}

/** Integer values of any integer tensor as bigints (exact for int64/uint64). */
export function bigintsOf(t: Tensor): bigint[] {
  if (t.dtype === 'int64' || t.dtype === 'uint64') return Array.from(t.data as BigInt64Array);
  return t.toNumbers().map((v) => BigInt(v));
}

/** A tensor of an integer dtype from exact bigint values (already in range). */
export function intTensor(dtype: DType, shape: Shape, values: readonly bigint[]): Tensor {
  if (dtype === 'int64' || dtype === 'uint64') {
    const out = new Tensor(dtype, shape);
    const d = out.data as BigInt64Array;
    for (let i = 0; i < values.length; i++) d[i] = values[i];
    return out;
  }
  return Tensor.from(dtype, shape, values.map((v) => Number(v)));
}

export function int64Tensor(shape: Shape, values: readonly number[]): Tensor {
  return Tensor.from('int64', shape, values);
}

/** Float values rounded to the dtype's precision (float32 by Math.fround; float16 by Tensor.from's encoder). */
export function floatTensor(dtype: DType, shape: Shape, values: ArrayLike<number>): Tensor {
  if (dtype === 'float32') return new Tensor('float32', shape, Float32Array.from(values as ArrayLike<number>));
  if (dtype === 'float64') return new Tensor('float64', shape, Float64Array.from(values as ArrayLike<number>));
  return Tensor.from(dtype, shape, values);
}
