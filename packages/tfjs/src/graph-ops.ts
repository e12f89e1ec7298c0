import { attr, layoutShape, NHWC_TO_NCHW, Tensor, transposeTensor } from '@nibble/ir';
import { activate, clip } from './activations';
import type { Lowered, TfDim } from './lowered';
import type { GraphOpContext, GraphOpLowering } from './graph-model';
import { MATH_OPS } from './graph-math-ops';
import { int64Input, TENSOR_OPS } from './graph-tensor-ops';
import {
  batchNorm, concat, conv2d, elementwise, harmonize, pad, pool2d, reduce, reshape, resize, softmax, transpose2d, type Padding,
} from './nhwc-ops';

/* TensorFlow graph-model ops (as the TF.js converter emits them) lowered to the IR. */

/** Ops that forward their input unchanged. */
export const PASS_THROUGH = new Set(['Identity', 'StopGradient', 'Snapshot', 'PreventGradient']);

function nhwcOnly(ctx: GraphOpContext): void {
  const f = ctx.str('data_format', 'NHWC');
  if (f !== 'NHWC') throw ctx.error(`data_format ${f} is not supported`, 'nibble reads NHWC graphs');
}

/** The 2-D part of an NHWC attribute list [1, h, w, 1]. */
function hw(ctx: GraphOpContext, name: string, fallback: [number, number]): [number, number] {
  const v = ctx.ints(name);
  return v.length === 4 ? [v[1], v[2]] : v.length === 2 ? [v[0], v[1]] : fallback;
}

function padding(ctx: GraphOpContext): Padding {
  const p = ctx.str('padding', 'VALID');
  if (p === 'SAME') return 'same';
  if (p === 'VALID') return 'valid';
  if (p === 'EXPLICIT') {
    const e = ctx.ints('explicit_paddings');
    if (e.length !== 8) throw ctx.error(`explicit_paddings has ${e.length} values, expected 8`);
    return { explicit: [e[2], e[4], e[3], e[5]] };
  }
  throw ctx.error(`padding ${p} is not supported`);
}

/** A float32 constant (int32 constants are converted; float16 never reaches here, weights are decoded on load). */
function floatConst(ctx: GraphOpContext, i: number, role: string): Tensor {
  const t = ctx.requireConstant(i, role);
  return t.dtype === 'float32' ? t : new Tensor('float32', t.shape, t.toFloat32());
}

/**
 * Conv2D / DepthwiseConv2dNative and their fused forms: the fused ops
 * (BiasAdd, then an activation) read the extra inputs.
 */
function convolution(depthwise: boolean, fused: boolean): GraphOpLowering {
  return (ctx) => {
    nhwcOnly(ctx);
    const x = ctx.input(0);
    let filter = floatConst(ctx, 1, 'filter');
    const [kh, kw, inPerGroup, m] = filter.shape;
    const channels = x.shape[3];
    const ops = fused ? ctx.strs('fused_ops') : [];
    let bias: Tensor | null = null;
    const rest = [...ops];
    let argIndex = 2;
    // Fused convolutions carry BiasAdd or (TF's grappler) an inference batch norm, then an activation.
    if (rest[0] === 'BiasAdd') {
      bias = floatConst(ctx, 2, 'bias');
      rest.shift();
      argIndex = 3;
    } else if (rest[0] === 'FusedBatchNorm') {
      ({ filter, bias } = foldBatchNorm(ctx, filter, depthwise));
      rest.shift();
      argIndex = 6;
    }
    const act = rest.shift();
    if (rest.length) throw ctx.error(`fused ops [${ops.join(', ')}] are not supported`);
    const group = depthwise ? inPerGroup : typeof channels === 'number' ? channels / inPerGroup : 1;
    const weight = depthwise
      ? transposeTensor(filter.reshape([1, kh, kw, inPerGroup * m]), [3, 0, 1, 2])
      : transposeTensor(filter, [3, 2, 0, 1]);
    const y = conv2d(ctx.em, x, {
      weight,
      bias,
      kernel: [kh, kw],
      strides: hw(ctx, 'strides', [1, 1]),
      dilations: hw(ctx, 'dilations', [1, 1]),
      padding: padding(ctx),
      group,
      weightName: ctx.node.input![1],
      biasName: bias ? (argIndex === 3 ? ctx.node.input![2] : `${ctx.name}/bias`) : '',
    }, act ? `${ctx.name}/conv` : ctx.name);
    return act ? fusedActivation(ctx, y, act, argIndex) : y;
  };
}

/** A batch norm (inputs 2..5: scale, offset, mean, variance) folded into a TF filter whose last axis (depthwise: last two) is the output channel. */
function foldBatchNorm(ctx: GraphOpContext, filter: Tensor, depthwise: boolean): { filter: Tensor; bias: Tensor } {
  const [gamma, beta, mean, variance] = [2, 3, 4, 5].map((i, k) => floatConst(ctx, i, ['scale', 'offset', 'mean', 'variance'][k]).data as Float32Array);
  const eps = ctx.float('epsilon', 1e-3);
  const channels = depthwise ? filter.shape[2] * filter.shape[3] : filter.shape[3];
  const scale = Float32Array.from({ length: channels }, (_, c) => gamma[c] / Math.sqrt(variance[c] + eps));
  const w = filter.data as Float32Array;
  const out = new Tensor('float32', [...filter.shape], w.map((v, i) => v * scale[i % channels]));
  const bias = new Tensor('float32', [channels], Float32Array.from({ length: channels }, (_, c) => beta[c] - mean[c] * scale[c]));
  return { filter: out, bias };
}

/** The activation of a fused op, named after the node. */
function fusedActivation(ctx: GraphOpContext, y: Lowered, act: string, argIndex: number): Lowered {
  switch (act) {
    case 'Relu': return activate(ctx.em, y, 'relu', ctx.name);
    case 'Relu6': return clip(ctx.em, y, 0, 6, ctx.name);
    case 'Elu': return activate(ctx.em, y, 'elu', ctx.name);
    case 'Sigmoid': return activate(ctx.em, y, 'sigmoid', ctx.name);
    case 'Tanh': return activate(ctx.em, y, 'tanh', ctx.name);
    case 'LeakyRelu': return activate(ctx.em, y, 'leaky_relu', ctx.name, { alpha: ctx.float('leakyrelu_alpha', 0.2) });
    case 'Prelu': return prelu(ctx, y, ctx.input(argIndex));
    default: throw ctx.error(`fused activation ${act} is not supported`, 'supported: Relu, Relu6, Elu, Sigmoid, Tanh, LeakyRelu, Prelu');
  }
}

function prelu(ctx: GraphOpContext, x: Lowered, alpha: Lowered): Lowered {
  const { values, layout } = harmonize(ctx.em, [x, alpha], x.shape.length);
  return { value: ctx.em.node('PRelu', values, {}, ctx.name, layoutShape(x.shape, layout)), layout, shape: x.shape };
}

/** MatMul / _FusedMatMul with a constant right side: Gemm with weights stored [out, in]. */
function matmul(fused: boolean): GraphOpLowering {
  return (ctx) => {
    const a = ctx.input(0);
    if (a.shape.length !== 2 || ctx.bool('transpose_a')) throw ctx.error('only a rank-2, untransposed left operand is supported');
    const ops = fused ? ctx.strs('fused_ops') : [];
    const hasBias = ops[0] === 'BiasAdd';
    const act = hasBias ? ops[1] : ops[0];
    if (ops.length > (hasBias ? 2 : 1)) throw ctx.error(`fused ops [${ops.join(', ')}] are not supported`);
    const bConst = ctx.constant(1);
    const transB = ctx.bool('transpose_b');
    const em = ctx.em;
    let w;
    let units: TfDim;
    if (bConst) {
      const b = bConst.dtype === 'float32' ? bConst : new Tensor('float32', bConst.shape, bConst.toFloat32());
      const stored = transB ? b : transpose2d(b);
      units = stored.shape[0];
      w = em.constant(ctx.node.input![1], stored);
    } else {
      const b = ctx.input(1);
      units = transB ? b.shape[0] : b.shape[1];
      w = transB ? em.as(b, 'plain') : em.node('Transpose', [em.as(b, 'plain')], { perm: attr.ints([1, 0]) }, `${ctx.name}/b_t`, [b.shape[1], b.shape[0]]);
    }
    const inputs = [em.as(a, 'plain'), w];
    if (hasBias) inputs.push(em.constant(ctx.node.input![2], floatConst(ctx, 2, 'bias')));
    const shape: TfDim[] = [a.shape[0], units];
    const y: Lowered = { value: em.node('Gemm', inputs, { transB: attr.int(1) }, act ? `${ctx.name}/gemm` : ctx.name, shape), layout: 'plain', shape };
    return act ? fusedActivation(ctx, y, act, hasBias ? 3 : 2) : y;
  };
}

function binary(op: string): GraphOpLowering {
  return (ctx) => elementwise(ctx.em, op, [ctx.input(0), ctx.input(1)], ctx.name);
}

function unary(kind: string): GraphOpLowering {
  // Of these only LeakyRelu has an attribute (alpha); TF's Elu is fixed at alpha 1.
  return (ctx) => activate(ctx.em, ctx.input(0), kind, ctx.name, kind === 'leaky_relu' ? { alpha: ctx.float('alpha', 0.2) } : {});
}

function onnxUnary(op: string): GraphOpLowering {
  return (ctx) => {
    const x = ctx.input(0);
    return { ...x, value: ctx.em.node(op, [x.value], {}, ctx.name, layoutShape(x.shape, x.layout)) };
  };
}

function poolOp(kind: 'max' | 'avg'): GraphOpLowering {
  return (ctx) => {
    nhwcOnly(ctx);
    return pool2d(ctx.em, ctx.input(0), kind, { kernel: hw(ctx, 'ksize', [1, 1]), strides: hw(ctx, 'strides', [1, 1]), padding: padding(ctx) }, ctx.name);
  };
}

function reduceOp(op: string): GraphOpLowering {
  return (ctx) => reduce(ctx.em, ctx.input(0), op, ctx.requireConstant(1, 'axes').toNumbers(), ctx.bool('keep_dims'), ctx.name);
}

function padOp(ctx: GraphOpContext): Lowered {
  const x = ctx.input(0);
  const p = ctx.requireConstant(1, 'paddings').toNumbers();
  const pairs = x.shape.map((_, i) => [p[2 * i], p[2 * i + 1]] as [number, number]);
  if (ctx.node.op === 'MirrorPad') {
    if (ctx.str('mode') !== 'REFLECT') throw ctx.error(`mirror mode ${ctx.str('mode')} is not supported`, 'only REFLECT maps to ONNX');
    return pad(ctx.em, x, pairs, ctx.name, 'reflect');
  }
  const value = ctx.node.op === 'PadV2' ? ctx.requireConstant(2, 'constant value').toNumbers()[0] : 0;
  return pad(ctx.em, x, pairs, ctx.name, 'constant', value);
}

function concatOp(axisFirst: boolean): GraphOpLowering {
  return (ctx) => {
    const n = ctx.inputCount;
    const axisAt = axisFirst ? 0 : n - 1;
    const axis = ctx.requireConstant(axisAt, 'axis').toNumbers()[0];
    const parts = Array.from({ length: n - 1 }, (_, i) => ctx.input(axisFirst ? i + 1 : i));
    return concat(ctx.em, parts, axis, ctx.name);
  };
}

function squeezeOp(ctx: GraphOpContext): Lowered {
  const x = ctx.input(0);
  const rank = x.shape.length;
  let axes = ctx.ints('squeeze_dims').map((a) => (a < 0 ? a + rank : a));
  if (axes.length === 0) axes = x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  const shape = x.shape.filter((_, i) => !axes.includes(i));
  // Squeezing NCHW directly is fine when the axes left keep TF's order.
  const left = x.layout === 'nchw' ? NHWC_TO_NCHW.filter((a) => !axes.includes(a)) : [];
  const direct = x.layout === 'nchw' && left.every((a, i) => i === 0 || a > left[i - 1]);
  const src = direct ? x.value : ctx.em.as(x, 'plain');
  const irAxes = direct ? axes.map((a) => NHWC_TO_NCHW.indexOf(a)) : axes;
  const value = ctx.em.node('Squeeze', [src, ctx.em.int64s(`${ctx.name}/axes`, irAxes.sort())], {}, ctx.name, layoutShape(shape, 'plain'), x.value.type?.dtype);
  return { value, layout: 'plain', shape };
}

function expandDimsOp(ctx: GraphOpContext): Lowered {
  const x = ctx.input(0);
  let axis = ctx.requireConstant(1, 'axis').toNumbers()[0];
  if (axis < 0) axis += x.shape.length + 1;
  const shape = [...x.shape.slice(0, axis), 1, ...x.shape.slice(axis)];
  const value = ctx.em.node('Unsqueeze', [ctx.em.as(x, 'plain'), ctx.em.int64s(`${ctx.name}/axes`, [axis])], {}, ctx.name, layoutShape(shape, 'plain'), x.value.type?.dtype);
  return { value, layout: 'plain', shape };
}

function transposeOp(ctx: GraphOpContext): Lowered {
  const x = ctx.input(0);
  const perm = ctx.requireConstant(1, 'permutation').toNumbers();
  const shape = perm.map((p) => x.shape[p]);
  // On an NCHW value compose the permutations instead of transposing back first.
  const irPerm = x.layout === 'nchw' ? perm.map((p) => NHWC_TO_NCHW.indexOf(p)) : perm;
  const value = ctx.em.node('Transpose', [x.value], { perm: attr.ints(irPerm) }, ctx.name, layoutShape(shape, 'plain'), x.value.type?.dtype);
  return { value, layout: 'plain', shape };
}

function resizeOp(bilinear: boolean): GraphOpLowering {
  return (ctx) => {
    const size = ctx.requireConstant(1, 'size').toNumbers();
    const convention = ctx.bool('align_corners') ? 'align_corners' : ctx.bool('half_pixel_centers') ? 'half_pixel' : 'asymmetric';
    return resize(ctx.em, ctx.input(0), [size[0], size[1]], bilinear ? 'bilinear' : 'nearest', convention, ctx.name);
  };
}

function fusedBatchNormOp(ctx: GraphOpContext): Lowered {
  nhwcOnly(ctx);
  return batchNorm(ctx.em, ctx.input(0), {
    gamma: floatConst(ctx, 1, 'scale'),
    beta: floatConst(ctx, 2, 'offset'),
    mean: floatConst(ctx, 3, 'mean'),
    variance: floatConst(ctx, 4, 'variance'),
    epsilon: ctx.float('epsilon', 1e-3),
  }, ctx.name);
}

function addN(ctx: GraphOpContext): Lowered {
  return elementwise(ctx.em, 'Add', Array.from({ length: ctx.inputCount }, (_, i) => ctx.input(i)), ctx.name);
}

export const GRAPH_OPS: Readonly<Record<string, GraphOpLowering>> = {
  Conv2D: convolution(false, false),
  DepthwiseConv2dNative: convolution(true, false),
  _FusedConv2D: convolution(false, true),
  FusedConv2D: convolution(false, true),
  FusedDepthwiseConv2dNative: convolution(true, true),
  MatMul: matmul(false),
  _FusedMatMul: matmul(true),
  BiasAdd: binary('Add'),
  Add: binary('Add'),
  AddV2: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  Div: binary('Div'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Pow: binary('Pow'),
  AddN: addN,
  Relu: unary('relu'),
  Relu6: unary('relu6'),
  Elu: unary('elu'),
  Selu: unary('selu'),
  Sigmoid: unary('sigmoid'),
  Tanh: unary('tanh'),
  Softplus: unary('softplus'),
  Softsign: unary('softsign'),
  LeakyRelu: unary('leaky_relu'),
  Prelu: (ctx) => prelu(ctx, ctx.input(0), ctx.input(1)),
  Neg: onnxUnary('Neg'),
  Abs: onnxUnary('Abs'),
  Exp: onnxUnary('Exp'),
  Log: onnxUnary('Log'),
  Sqrt: onnxUnary('Sqrt'),
  Reciprocal: onnxUnary('Reciprocal'),
  Rsqrt: (ctx) => {
    const x = ctx.input(0);
    const shape = layoutShape(x.shape, x.layout);
    const root = ctx.em.node('Sqrt', [x.value], {}, `${ctx.name}/sqrt`, shape);
    return { ...x, value: ctx.em.node('Reciprocal', [root], {}, ctx.name, shape) };
  },
  Square: (ctx) => {
    const x = ctx.input(0);
    return { ...x, value: ctx.em.node('Mul', [x.value, x.value], {}, ctx.name, layoutShape(x.shape, x.layout)) };
  },
  Softmax: (ctx) => softmax(ctx.em, ctx.input(0), -1, ctx.name),
  ConcatV2: concatOp(false),
  Concat: concatOp(true),
  Pad: padOp,
  PadV2: padOp,
  MirrorPad: padOp,
  MaxPool: poolOp('max'),
  AvgPool: poolOp('avg'),
  Mean: reduceOp('ReduceMean'),
  Sum: reduceOp('ReduceSum'),
  Max: reduceOp('ReduceMax'),
  Min: reduceOp('ReduceMin'),
  Prod: reduceOp('ReduceProd'),
  Reshape: (ctx) => {
    const target = ctx.constant(1);
    if (target) return reshape(ctx.em, ctx.input(0), target.toNumbers(), ctx.name);
    // A shape computed at run time (from an input of unknown size): its rank is known, its sizes are not.
    const x = ctx.input(0);
    const shape: TfDim[] = new Array<TfDim>(ctx.input(1).shape[0] ?? 0).fill(null);
    const value = ctx.em.node('Reshape', [ctx.em.as(x, 'plain'), int64Input(ctx, 1, 'shape')], {}, ctx.name, layoutShape(shape, 'plain'), x.value.type?.dtype);
    return { value, layout: 'plain', shape };
  },
  Squeeze: squeezeOp,
  ExpandDims: expandDimsOp,
  Transpose: transposeOp,
  ResizeBilinear: resizeOp(true),
  ResizeNearestNeighbor: resizeOp(false),
  FusedBatchNorm: fusedBatchNormOp,
  FusedBatchNormV2: fusedBatchNormOp,
  FusedBatchNormV3: fusedBatchNormOp,
  Floor: onnxUnary('Floor'),
  Ceil: onnxUnary('Ceil'),
  Round: onnxUnary('Round'),
  Sign: onnxUnary('Sign'),
  Sin: onnxUnary('Sin'),
  Cos: onnxUnary('Cos'),
  Erf: onnxUnary('Erf'),
  ...TENSOR_OPS,
  ...MATH_OPS,
};

export function supportedGraphOps(): string[] {
  return ['Const', 'Placeholder', ...PASS_THROUGH, ...Object.keys(GRAPH_OPS)].sort();
}
