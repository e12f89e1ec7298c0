import { NibbleError, type Node, type Tensor } from '@nibble/ir';
import { broadcastIndex, broadcastShape } from './broadcast';
import { buildTensor, clampableIntsOf, elementReader, intsOf, normalizeAxis, required, shapeError, strides, takeElements } from './tensor-util';

/*
 * Data movement: every output element is one input element, copied as
 * stored. Each op computes the source index of every output element.
 */

export function evalGather(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const data = required(node, inputs, 0, 'data');
  const indices = required(node, inputs, 1, 'indices');
  if (data.rank === 0) throw shapeError(node, 'cannot gather from a scalar');
  const axis = normalizeAxis(node, node.getInt('axis', 0), data.rank);
  const extent = data.shape[axis];
  const idx = intsOf(node, indices, 'indices').map((i) => {
    if (i < -extent || i >= extent) throw shapeError(node, `index ${i} is out of range for axis ${axis} of extent ${extent}`);
    return i < 0 ? i + extent : i;
  });
  const outer = data.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = data.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const shape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  const index = new Int32Array(outer * idx.length * inner);
  let k = 0;
  for (let o = 0; o < outer; o++) {
    for (const i of idx) {
      const base = (o * extent + i) * inner;
      for (let j = 0; j < inner; j++) index[k++] = base + j;
    }
  }
  return [takeElements(data, shape, index)];
}

export function evalConcat(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const parts = inputs.filter((t): t is Tensor => t !== null);
  if (parts.length === 0) throw shapeError(node, 'has no inputs');
  const first = parts[0];
  const axisAttr = node.getAttr('axis', 'int');
  if (axisAttr === undefined) throw new NibbleError('E_INVALID_GRAPH', `node '${node.name}' (Concat) has no 'axis' attribute`, { node: node.name, op: 'Concat' });
  const axis = normalizeAxis(node, axisAttr, first.rank);
  for (const p of parts) {
    if (p.dtype !== first.dtype) throw shapeError(node, `concatenates ${first.dtype} with ${p.dtype}`);
    if (p.rank !== first.rank || p.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
      throw shapeError(node, `cannot concatenate [${first.shape.join(',')}] and [${p.shape.join(',')}] on axis ${axis}`);
    }
  }
  const outer = first.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = first.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const shape = [...first.shape];
  shape[axis] = parts.reduce((n, p) => n + p.shape[axis], 0);
  // (part, element) of every output element, in output order.
  const source: [number, number][] = [];
  for (let o = 0; o < outer; o++) {
    parts.forEach((p, pi) => {
      const chunk = p.shape[axis] * inner;
      for (let j = 0; j < chunk; j++) source.push([pi, o * chunk + j]);
    });
  }
  const readers = parts.map(elementReader);
  return [buildTensor(first.dtype, shape, (i) => readers[source[i][0]](source[i][1]))];
}

export function evalTranspose(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const x = required(node, inputs, 0, 'data');
  const perm = node.getInts('perm', x.shape.map((_, i) => x.rank - 1 - i));
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw shapeError(node, `perm [${perm.join(',')}] is not a permutation of the ${x.rank} axes`);
  }
  const shape = perm.map((p) => x.shape[p]);
  const inStrides = strides(x.shape);
  const outStrides = strides(shape);
  const index = new Int32Array(x.size);
  for (let i = 0; i < x.size; i++) {
    let rest = i;
    let src = 0;
    for (let a = 0; a < shape.length; a++) {
      const c = Math.floor(rest / outStrides[a]);
      rest -= c * outStrides[a];
      src += c * inStrides[perm[a]];
    }
    index[i] = src;
  }
  return [takeElements(x, shape, index)];
}

/** Slice: starts/ends/axes as attributes before opset 10, as inputs (with steps) since. */
export function evalSlice(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const x = required(node, inputs, 0, 'data');
  const fromAttrs = node.getAttr('starts', 'ints') !== undefined;
  const starts = fromAttrs ? node.getInts('starts', []) : clampableIntsOf(node, required(node, inputs, 1, 'starts'), 'starts');
  const ends = fromAttrs ? node.getInts('ends', []) : clampableIntsOf(node, required(node, inputs, 2, 'ends'), 'ends');
  const axesGiven = fromAttrs ? node.getAttr('axes', 'ints') : inputs[3] ? intsOf(node, inputs[3], 'axes') : undefined;
  const steps = !fromAttrs && inputs[4] ? intsOf(node, inputs[4], 'steps') : starts.map(() => 1);
  const axes = axesGiven ?? starts.map((_, i) => i);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    throw shapeError(node, 'starts, ends, axes and steps differ in length');
  }
  const begin = x.shape.map(() => 0);
  const step = x.shape.map(() => 1);
  const shape = [...x.shape];
  const seen = new Set<number>();
  axes.forEach((a0, i) => {
    const a = normalizeAxis(node, a0, x.rank, 'axes entry');
    if (seen.has(a)) throw shapeError(node, `axis ${a} is sliced twice`);
    seen.add(a);
    const d = x.shape[a];
    const st = steps[i];
    if (st === 0) throw shapeError(node, 'a step is 0');
    let s = starts[i] < 0 ? starts[i] + d : starts[i];
    let e = ends[i] < 0 ? ends[i] + d : ends[i];
    if (st > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    begin[a] = s;
    step[a] = st;
    shape[a] = Math.max(0, Math.ceil((e - s) / st));
  });
  const inStrides = strides(x.shape);
  const outStrides = strides(shape);
  const size = shape.reduce((p, q) => p * q, 1);
  const index = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    let rest = i;
    let src = 0;
    for (let a = 0; a < shape.length; a++) {
      const c = Math.floor(rest / outStrides[a]);
      rest -= c * outStrides[a];
      src += (begin[a] + c * step[a]) * inStrides[a];
    }
    index[i] = src;
  }
  return [takeElements(x, shape, index)];
}

/** Expand: numpy broadcasting of the input against the requested shape. */
export function evalExpand(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const x = required(node, inputs, 0, 'input');
  const requested = intsOf(node, required(node, inputs, 1, 'shape'), 'shape');
  const shape = broadcastShape(node, [x.shape, requested]);
  const size = shape.reduce((p, q) => p * q, 1);
  const map = broadcastIndex(x.shape, shape);
  const index = new Int32Array(size);
  for (let i = 0; i < size; i++) index[i] = map(i);
  return [takeElements(x, shape, index)];
}
