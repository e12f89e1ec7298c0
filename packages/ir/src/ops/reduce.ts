import type { Node } from '../graph';
import type { InferContext } from './registry';
import { type Dims, attrOrInputInts, defineOp, inDtype, inShape, isNum, knownInts, normalizeAxis, typeOf, unknownDims } from './infer-util';

/* Reductions, arg-reductions and TopK. */

/** Opset from which a reduction takes its axes as an input instead of an attribute. */
const AXES_INPUT_SINCE: Record<string, number> = { ReduceSum: 13 };

function reduceShape(node: Node, ctx: InferContext): Dims | undefined {
  const x = inShape(node, 0);
  const keep = node.getInt('keepdims', 1) !== 0;
  const axes = attrOrInputInts(node, ctx, 'axes', 1);
  const inputForm = ctx.opset >= (AXES_INPUT_SINCE[node.opType] ?? 18);
  if (!x) return undefined;
  if (axes === undefined) return keep ? unknownDims(x.length) : undefined;
  if (axes === null || axes.length === 0) {
    if (inputForm && node.getInt('noop_with_empty_axes', 0) !== 0) return [...x];
    return keep ? x.map(() => 1) : [];
  }
  const set = new Set(axes.map((a) => normalizeAxis(node, a, x.length, 'reduction axis')));
  return keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i));
}

for (const op of ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSum', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSumExp', 'ReduceSumSquare']) {
  defineOp(op, `${op.slice(6)} over axes (attribute, or input since opset ${AXES_INPUT_SINCE[op] ?? 18}); keepdims`, (node, ctx) => [
    typeOf(inDtype(node, 0), reduceShape(node, ctx)),
  ]);
}

for (const op of ['ArgMax', 'ArgMin']) {
  defineOp(op, `index of the ${op.slice(3).toLowerCase()} along axis, int64; keepdims`, (node) => {
    const x = inShape(node, 0);
    if (!x) return [typeOf('int64', undefined)];
    const axis = normalizeAxis(node, node.getInt('axis', 0), x.length);
    const keep = node.getInt('keepdims', 1) !== 0;
    return [typeOf('int64', keep ? x.map((d, i) => (i === axis ? 1 : d)) : x.filter((_, i) => i !== axis))];
  });
}

defineOp('TopK', 'the k largest (or smallest) values along axis and their int64 indices', (node, ctx) => {
  const x = inShape(node, 0);
  const kAttr = node.attributes.get('k');
  const k = kAttr?.type === 'int' ? kAttr.value : knownInts(ctx, node.inputs[1])?.[0];
  let shape: Dims | undefined;
  if (x) {
    const axis = normalizeAxis(node, node.getInt('axis', -1), x.length);
    shape = x.map((d, i) => (i === axis ? (isNum(k) ? k : null) : d));
  }
  return [typeOf(inDtype(node, 0), shape), typeOf('int64', shape && [...shape])];
});

defineOp('NonZero', 'int64 indices [rank, count] of the non-zero elements', (node) => {
  const x = inShape(node, 0);
  return [typeOf('int64', x ? [x.length, null] : undefined)];
});

