import type { Node } from '../graph';
import { readWindowAttrs, windowOutput } from './conv';
import { type Dims, defineOp, inDtype, inShape, shapeError, typeOf } from './infer-util';

/* Pooling: windowed (MaxPool, AveragePool, LpPool) and global. */

function poolShape(node: Node): Dims | undefined {
  const x = inShape(node, 0);
  const k = node.attributes.get('kernel_shape');
  if (k?.type !== 'ints') throw shapeError(node, 'the required attribute kernel_shape is missing');
  const n = k.value.length;
  if (x && x.length !== n + 2) throw shapeError(node, `input rank ${x.length} does not fit kernel_shape of ${n} spatial axes`);
  const a = readWindowAttrs(node, k.value);
  if (!x) return undefined;
  return [x[0], x[1], ...windowOutput(node, x.slice(2), a)];
}

defineOp('MaxPool', 'windowed max (pads, strides, dilations, ceil_mode); optional int64 indices', (node) => {
  const s = poolShape(node);
  return [typeOf(inDtype(node, 0), s), typeOf('int64', s && [...s])];
});

defineOp('AveragePool', 'windowed mean (count_include_pad, ceil_mode)', (node) => [typeOf(inDtype(node, 0), poolShape(node))]);

defineOp('LpPool', 'windowed p-norm', (node) => [typeOf(inDtype(node, 0), poolShape(node))]);

for (const op of ['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool']) {
  defineOp(op, `${op.slice(6)} over all spatial axes, keeping them as 1`, (node) => {
    const x = inShape(node, 0);
    if (x && x.length < 2) throw shapeError(node, `input rank ${x.length} is too small: expected [N, C, spatial...]`);
    return [typeOf(inDtype(node, 0), x && [x[0], x[1], ...x.slice(2).map(() => 1)])];
  });
}
