import { attr, type Attribute, layoutAxis, layoutShape, NHWC_TO_NCHW, type ValueLayout } from '@nibble/ir';
import { emitWithActivation, windowPads, type LowerContext } from './context';
import { Activation, F, Padding } from './schema';

/* Pooling, resizing, padding, reductions, concatenation and reshapes. */

function pool(ctx: LowerContext, onnx: 'MaxPool' | 'AveragePool'): void {
  const o = F.Pool2DOptions;
  const opt = ctx.options;
  const x = ctx.input(0);
  const kernel: [number, number] = [opt?.i32(o.filterHeight) || 1, opt?.i32(o.filterWidth) || 1];
  const strides: [number, number] = [opt?.i32(o.strideH) || 1, opt?.i32(o.strideW) || 1];
  const attributes: Record<string, Attribute> = {
    kernel_shape: attr.ints(kernel),
    strides: attr.ints(strides),
    pads: attr.ints(windowPads(opt?.i8(o.padding) === Padding.SAME, x.shape, kernel, strides)),
  };
  // TFLite averages over the window's pixels inside the image only.
  if (onnx === 'AveragePool') attributes.count_include_pad = attr.int(0);
  emitWithActivation(ctx, onnx, [ctx.em.as(x, 'nchw')], attributes, 'nchw', opt?.i8(o.activation) ?? Activation.NONE);
}

export const lowerMaxPool = (ctx: LowerContext): void => pool(ctx, 'MaxPool');
export const lowerAveragePool = (ctx: LowerContext): void => pool(ctx, 'AveragePool');

export function lowerConcatenation(ctx: LowerContext): void {
  const inputs = ctx.op.inputs.map((_, i) => ctx.input(i));
  const out = ctx.outputTensor(0).shape;
  const layout: ValueLayout = out.length === 4 && inputs.some((t) => t.layout === 'nchw' && !t.value.const) ? 'nchw' : 'plain';
  const axis = layoutAxis(ctx.options?.i32(F.ConcatenationOptions.axis) ?? 0, out.length, layout);
  const act = ctx.options?.i8(F.ConcatenationOptions.activation) ?? Activation.NONE;
  emitWithActivation(ctx, 'Concat', inputs.map((t) => ctx.em.as(t, layout)), { axis: attr.int(axis) }, layout, act);
}

/** RESHAPE, SQUEEZE, EXPAND_DIMS: TFLite element order, so the plain layout, and the static output shape. */
export function lowerReshape(ctx: LowerContext): void {
  const out = ctx.outputTensor(0).shape;
  const x = ctx.input(0);
  const shape = ctx.em.int64s(`${ctx.name}/shape`, out);
  ctx.setOutput(0, ctx.em.node('Reshape', [ctx.em.as(x, 'plain'), shape], {}, ctx.name, [...out], x.value.type?.dtype), 'plain');
}

export function lowerTranspose(ctx: LowerContext): void {
  const perm = ctx.requireIntegers(1, 'permutation');
  const x = ctx.input(0);
  const out = ctx.outputTensor(0).shape;
  ctx.setOutput(0, ctx.em.node('Transpose', [ctx.em.as(x, 'plain')], { perm: attr.ints(perm) }, ctx.name, [...out], x.value.type?.dtype), 'plain');
}

/** PAD, PADV2, MIRROR_PAD: paddings [rank, 2] become ONNX's [begins..., ends...] in the input's layout. */
export function lowerPad(ctx: LowerContext): void {
  const x = ctx.input(0);
  const rank = x.shape.length;
  const p = ctx.requireIntegers(1, 'paddings');
  if (p.length !== 2 * rank) throw ctx.error(`paddings hold ${p.length} values for a rank-${rank} input`);
  const order = x.layout === 'nchw' ? NHWC_TO_NCHW : [...Array(rank).keys()];
  const pads = [...order.map((a) => p[2 * a]), ...order.map((a) => p[2 * a + 1])];
  const inputs = [x.value, ctx.em.int64s(`${ctx.name}/pads`, pads)];
  const attributes: Record<string, Attribute> = {};
  if (ctx.op.code.name === 'PADV2' && ctx.hasInput(2)) {
    const c = ctx.requireConstant(2, 'constant value').toNumbers();
    inputs.push(ctx.em.floatScalar(`${ctx.name}/value`, c[0]));
  }
  if (ctx.op.code.name === 'MIRROR_PAD') {
    // ONNX reflect excludes the border like TF's REFLECT; SYMMETRIC repeats it and has no ONNX mode.
    if (ctx.options?.i8(F.MirrorPadOptions.mode) !== 0) throw ctx.error('MIRROR_PAD in SYMMETRIC mode is not supported', 'only REFLECT mirror padding maps to ONNX');
    attributes.mode = attr.string('reflect');
  }
  ctx.setOutput(0, ctx.em.node('Pad', inputs, attributes, ctx.name, layoutShape(ctx.outputTensor(0).shape, x.layout)), x.layout);
}

const REDUCE: Record<string, string> = { MEAN: 'ReduceMean', SUM: 'ReduceSum', REDUCE_MAX: 'ReduceMax', REDUCE_MIN: 'ReduceMin', REDUCE_PROD: 'ReduceProd' };
export const REDUCE_OPS = Object.keys(REDUCE);

export function lowerReduce(ctx: LowerContext): void {
  let x = ctx.input(0);
  const rank = x.shape.length;
  const axes = [...new Set(ctx.requireIntegers(1, 'axes').map((a) => (a < 0 ? a + rank : a)))].sort();
  if (axes.some((a) => a < 0 || a >= rank)) throw ctx.error(`axes [${axes.join(',')}] are outside rank ${rank}`);
  const keep = ctx.options?.bool(F.ReducerOptions.keepDims) ?? false;
  // Without keepdims the result is plain only if the axes left keep TFLite's order.
  if (!keep && x.layout === 'nchw') {
    const left = NHWC_TO_NCHW.filter((a) => !axes.includes(a));
    if (left.some((a, i) => i > 0 && a < left[i - 1])) x = { ...x, value: ctx.em.as(x, 'plain'), layout: 'plain' };
  }
  const layout: ValueLayout = keep ? x.layout : 'plain';
  const irAxes = axes.map((a) => layoutAxis(a, rank, x.layout));
  const value = ctx.em.node(REDUCE[ctx.op.code.name], [x.value, ctx.em.int64s(`${ctx.name}/axes`, irAxes)], { keepdims: attr.int(keep ? 1 : 0) },
    ctx.name, layoutShape(ctx.outputTensor(0).shape, layout));
  ctx.setOutput(0, value, layout);
}

export function lowerSoftmax(ctx: LowerContext): void {
  const x = ctx.input(0);
  const beta = ctx.options?.f32(F.SoftmaxOptions.beta, 1) ?? 1;
  const shape = layoutShape(x.shape, x.layout);
  let v = x.value;
  if (beta !== 1) v = ctx.em.node('Mul', [v, ctx.em.floatScalar(`${ctx.name}/beta`, beta)], {}, `${ctx.name}/scaled`, shape);
  const axis = layoutAxis(-1, x.shape.length, x.layout);
  ctx.setOutput(0, ctx.em.node('Softmax', [v], { axis: attr.int(axis) }, ctx.name, shape), x.layout);
}

/**
 * RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR: the three TF sampling
 * conventions map onto ONNX coordinate transformations (for nearest, with
 * the rounding TF uses in each).
 */
export function lowerResize(ctx: LowerContext): void {
  const x = ctx.input(0);
  const bilinear = ctx.op.code.name === 'RESIZE_BILINEAR';
  const o = bilinear ? F.ResizeBilinearOptions : F.ResizeNearestNeighborOptions;
  const alignCorners = ctx.options?.bool(o.alignCorners) ?? false;
  const halfPixel = ctx.options?.bool(o.halfPixelCenters) ?? false;
  const out = ctx.outputTensor(0).shape;
  const attributes: Record<string, Attribute> = {
    mode: attr.string(bilinear ? 'linear' : 'nearest'),
    coordinate_transformation_mode: attr.string(alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric'),
  };
  if (!bilinear) attributes.nearest_mode = attr.string(alignCorners || halfPixel ? 'round_prefer_ceil' : 'floor');
  const sizes = ctx.em.int64s(`${ctx.name}/sizes`, layoutShape(out, 'nchw'));
  ctx.setOutput(0, ctx.em.node('Resize', [ctx.em.as(x, 'nchw'), null, null, sizes], attributes, ctx.name, layoutShape(out, 'nchw')), 'nchw');
}

/** DEPTH_TO_SPACE / SPACE_TO_DEPTH: TF's channel order is ONNX's DCR. */
export function lowerDepthSpace(ctx: LowerContext): void {
  const x = ctx.input(0);
  const block = ctx.options?.i32(F.DepthToSpaceOptions.blockSize) ?? 0;
  if (block < 1) throw ctx.error(`block size ${block} is invalid`);
  const toSpace = ctx.op.code.name === 'DEPTH_TO_SPACE';
  const attributes: Record<string, Attribute> = { blocksize: attr.int(block) };
  if (toSpace) attributes.mode = attr.string('DCR');
  const out = layoutShape(ctx.outputTensor(0).shape, 'nchw');
  ctx.setOutput(0, ctx.em.node(toSpace ? 'DepthToSpace' : 'SpaceToDepth', [ctx.em.as(x, 'nchw')], attributes, ctx.name, out), 'nchw');
}
