import type { Dim, Node } from '../graph';
import type { InferContext } from './registry';
import { type Dims, defineOp, fmtDims, inDtype, inShape, isNum, normalizeAxis, shapeError, typeOf, unknownDims } from './infer-util';

/*
 * Resize and its predecessor Upsample. Output extent: floor(in * scale), or
 * `sizes` when given (adjusted by keep_aspect_ratio_policy since opset 18).
 * Input positions moved: opset 10 has (X, scales), 11+ (X, roi, scales, sizes).
 */

function knownFloats(ctx: InferContext, node: Node, i: number): number[] | undefined {
  const k = ctx.known(node.inputs[i]);
  if (!k || !k.data.every(isNum) || k.data.length === 0) return undefined;
  return k.data as number[];
}

function resizeShape(node: Node, ctx: InferContext, scales: number[] | undefined, sizes: number[] | undefined): Dims | undefined {
  const x = inShape(node, 0);
  if (!x) return undefined;
  const axes = node.getInts('axes', x.map((_, i) => i)).map((a) => normalizeAxis(node, a, x.length, 'resize axis'));
  const given = sizes ?? scales;
  if (!given) return unknownDims(x.length);
  if (given.length !== axes.length) {
    throw shapeError(node, `${sizes ? 'sizes' : 'scales'} has ${given.length} entries for ${axes.length} axes of input ${fmtDims(x)}`);
  }
  if (node.getString('coordinate_transformation_mode', '') === 'tf_crop_and_resize' && !sizes) return unknownDims(x.length);
  const out: Dims = [...x];
  if (sizes) {
    const policy = node.getString('keep_aspect_ratio_policy', 'stretch');
    if (policy === 'stretch') {
      axes.forEach((a, i) => (out[a] = sizes[i]));
      return out;
    }
    const ratios = axes.map((a, i) => (isNum(x[a]) ? sizes[i] / (x[a] as number) : NaN));
    if (ratios.some(Number.isNaN)) return axes.reduce((o, a) => ((o[a] = null), o), out);
    const s = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
    axes.forEach((a) => (out[a] = Math.round(s * (x[a] as number))));
    return out;
  }
  axes.forEach((a, i) => {
    const d: Dim = x[a];
    if (!(scales![i] > 0)) throw shapeError(node, `scale ${scales![i]} for axis ${a} must be positive`);
    out[a] = isNum(d) ? Math.floor(d * scales![i]) : scales![i] === 1 ? d : null;
  });
  return out;
}

defineOp('Resize', 'resize by scales or to sizes (nearest, linear, cubic)', (node, ctx) => {
  const [scalesAt, sizesAt] = ctx.opset >= 11 ? [2, 3] : [1, -1];
  const sizes = sizesAt >= 0 ? knownFloats(ctx, node, sizesAt) : undefined;
  const scales = knownFloats(ctx, node, scalesAt);
  const sizesGiven = sizesAt >= 0 && node.inputs[sizesAt] && ctx.known(node.inputs[sizesAt])?.data.length !== 0;
  if (sizesGiven && !sizes) return [typeOf(inDtype(node, 0), inShape(node, 0) && unknownDims(inShape(node, 0)!.length))];
  return [typeOf(inDtype(node, 0), resizeShape(node, ctx, sizes ? undefined : scales, sizes))];
});

defineOp('Upsample', 'resize by scales (attribute before opset 9, input since); deprecated by Resize', (node, ctx) => {
  const attr = node.attributes.get('scales');
  const scales = attr?.type === 'floats' ? attr.value : knownFloats(ctx, node, 1);
  return [typeOf(inDtype(node, 0), resizeShape(node, ctx, scales, undefined))];
});
