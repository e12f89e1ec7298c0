import type { Node, Tensor } from '@nibble/ir';
import { evalAdd, evalDiv, evalMul, evalSub } from './arithmetic';
import { evalCast, evalIdentity } from './cast';
import { evalConstant } from './constant';
import { evalDequantizeLinear } from './dequantize';
import { constantOfShapeDims, evalConstantOfShape, evalRange, rangeCount } from './generators';
import { evalConcat, evalExpand, evalGather, evalSlice, evalTranspose } from './movement';
import { evalFlatten, evalReshape, evalShape, evalShapeFromShape, evalSize, evalSizeFromShape, evalSqueeze, evalUnsqueeze } from './shape-ops';
import type { OpEvaluator, ShapeEvaluator } from './types';

export { CannotFold } from './types';
export type { OpEvaluator, ShapeEvaluator } from './types';

/** Ops of the default ONNX domain that fold-constants evaluates. */
export const CONSTANT_EVALUATORS: Readonly<Record<string, OpEvaluator>> = Object.freeze({
  Add: evalAdd,
  Cast: evalCast,
  Concat: evalConcat,
  Constant: evalConstant,
  ConstantOfShape: evalConstantOfShape,
  DequantizeLinear: evalDequantizeLinear,
  Div: evalDiv,
  Expand: evalExpand,
  Flatten: evalFlatten,
  Gather: evalGather,
  Identity: evalIdentity,
  Mul: evalMul,
  Range: evalRange,
  Reshape: evalReshape,
  Shape: evalShape,
  Size: evalSize,
  Slice: evalSlice,
  Squeeze: evalSqueeze,
  Sub: evalSub,
  Transpose: evalTranspose,
  Unsqueeze: evalUnsqueeze,
});

/** Ops that need only their first input's shape, so they fold on any value whose shape is static. */
export const SHAPE_EVALUATORS: Readonly<Record<string, ShapeEvaluator>> = Object.freeze({
  Shape: evalShapeFromShape,
  Size: evalSizeFromShape,
});

/**
 * How many elements a generator would create, computed before creating them
 * (so a bound can refuse a huge ConstantOfShape without allocating it);
 * undefined for ops whose output is no larger than what they read.
 */
export function generatedElements(node: Node, inputs: readonly (Tensor | null)[]): number | undefined {
  switch (node.opType) {
    case 'ConstantOfShape':
      return constantOfShapeDims(node, inputs).reduce((a, b) => a * b, 1);
    case 'Range':
      return rangeCount(node, inputs);
    case 'Expand':
      return expandedElements(inputs);
    default:
      return undefined;
  }
}

/** Element count of Expand's broadcast (an upper bound when the shapes do not fit, which evaluation then reports). */
function expandedElements(inputs: readonly (Tensor | null)[]): number | undefined {
  const x = inputs[0];
  const shape = inputs[1];
  if (!x || !shape) return undefined;
  const dims = shape.toNumbers();
  const rank = Math.max(x.rank, dims.length);
  let n = 1;
  for (let i = 0; i < rank; i++) {
    const a = x.shape[x.rank - rank + i] ?? 1;
    const b = dims[dims.length - rank + i] ?? 1;
    n *= Math.max(a, b);
  }
  return n;
}
