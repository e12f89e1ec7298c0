import type { Node, Tensor } from '@nibble/ir';
import { axesOf, int64Tensor, intsOf, normalizeAxis, required, shapeError } from './tensor-util';

/*
 * Ops that only change the shape: the data is shared, never copied
 * (Tensor.reshape), which keeps large folded weights cheap.
 */

/** The axes [start, end) Shape reports, from the start/end attributes of opset 15 (clamped, negatives from the end). */
export function shapeAxes(node: Node, rank: number): [number, number] {
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const s = clamp(node.getInt('start', 0));
  return [s, Math.max(s, clamp(node.getAttr('end', 'int') ?? rank))];
}

export function evalShapeFromShape(node: Node, shape: readonly number[]): Tensor[] {
  const dims = shape.slice(...shapeAxes(node, shape.length));
  return [int64Tensor([dims.length], dims)];
}

export function evalSizeFromShape(_node: Node, shape: readonly number[]): Tensor[] {
  return [int64Tensor([], [shape.reduce((a, b) => a * b, 1)])];
}

export function evalShape(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  return evalShapeFromShape(node, required(node, inputs, 0, 'input').shape);
}

export function evalSize(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  return evalSizeFromShape(node, required(node, inputs, 0, 'input').shape);
}

/** Reshape: 0 copies the input's extent (unless allowzero=1), one -1 takes what is left. */
export function evalReshape(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const x = required(node, inputs, 0, 'data');
  const requested = intsOf(node, required(node, inputs, 1, 'shape'), 'shape');
  const allowZero = node.getInt('allowzero', 0) === 1;
  let inferAt = -1;
  const out = requested.map((d, i) => {
    if (d === -1) {
      if (inferAt >= 0) throw shapeError(node, `shape [${requested.join(',')}] has more than one -1`);
      inferAt = i;
      return 1;
    }
    if (d === 0 && !allowZero) {
      if (i >= x.rank) throw shapeError(node, `shape [${requested.join(',')}] copies axis ${i}, which the rank-${x.rank} input lacks`);
      return x.shape[i];
    }
    if (d < 0) throw shapeError(node, `shape [${requested.join(',')}] has the negative extent ${d}`);
    return d;
  });
  if (inferAt >= 0) {
    const known = out.reduce((a, b) => a * b, 1);
    if (known === 0 || x.size % known !== 0) throw shapeError(node, `cannot infer the -1 of [${requested.join(',')}] for ${x.size} elements`);
    out[inferAt] = x.size / known;
  }
  if (out.reduce((a, b) => a * b, 1) !== x.size) {
    throw shapeError(node, `cannot reshape [${x.shape.join(',')}] (${x.size} elements) to [${out.join(',')}]`);
  }
  return [x.reshape(out)];
}

export function evalFlatten(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const x = required(node, inputs, 0, 'input');
  const a = node.getInt('axis', 1);
  // axis lies in [-rank, rank]: rank itself puts everything in the outer dim.
  if (!Number.isInteger(a) || a < -x.rank || a > x.rank) throw shapeError(node, `axis ${a} is out of range for rank ${x.rank}`);
  const axis = a < 0 ? a + x.rank : a;
  const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
  return [x.reshape([product(x.shape.slice(0, axis)), product(x.shape.slice(axis))])];
}

export function evalSqueeze(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const x = required(node, inputs, 0, 'data');
  const axes = axesOf(node, inputs, 1);
  const drop = new Set(axes ? axes.map((a) => normalizeAxis(node, a, x.rank, 'axes entry')) : x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
  for (const a of drop) if (x.shape[a] !== 1) throw shapeError(node, `cannot squeeze axis ${a} of extent ${x.shape[a]}`);
  return [x.reshape(x.shape.filter((_, i) => !drop.has(i)))];
}

export function evalUnsqueeze(node: Node, inputs: readonly (Tensor | null)[]): Tensor[] {
  const x = required(node, inputs, 0, 'data');
  const axes = axesOf(node, inputs, 1);
  if (!axes) throw shapeError(node, 'has no axes (attribute before opset 13, input since)');
  const rank = x.rank + axes.length;
  const at = new Set(axes.map((a) => normalizeAxis(node, a, rank, 'axes entry')));
  if (at.size !== axes.length) throw shapeError(node, `axes [${axes.join(',')}] repeat an axis`);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : x.shape[k++]);
  return [x.reshape(out)];
}
