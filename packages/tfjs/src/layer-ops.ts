import { type GraphBuilder, layoutShape, NibbleError, Tensor, transposeTensor } from '@nibble/ir';
import { activate, clip } from './activations';
import type { Lowered } from './lowered';
import {
  batchNorm, concat, conv2d, convTranspose, dense, elementwise, flatten, globalPool2d, harmonize, pad, pool2d, reshape, resize, softmax,
  type Padding,
} from './nhwc-ops';

/* Keras layers (as TF.js layers models store them) lowered to the IR. */

export interface LayerContext {
  em: GraphBuilder;
  className: string;
  /** Name of the layer's output (the layer name, suffixed when the layer is called more than once). */
  name: string;
  layerName: string;
  config: Record<string, unknown>;
  inputs: Lowered[];
  /** A weight of this layer by its Keras name (kernel, bias, gamma, ...); a typed error when required and missing. */
  weight(name: string): Tensor;
  optionalWeight(name: string): Tensor | null;
  error(message: string, hint?: string): NibbleError;
}

type LayerLowering = (ctx: LayerContext) => Lowered;

const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);

function pair(ctx: LayerContext, key: string, fallback?: [number, number]): [number, number] {
  const v = ctx.config[key];
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0], v[1]];
  if ((v === undefined || v === null) && fallback) return fallback;
  throw ctx.error(`config '${key}' = ${JSON.stringify(v)} is not one or two integers`);
}

function channelsLast(ctx: LayerContext): void {
  const f = ctx.config.data_format ?? ctx.config.dataFormat;
  if (f !== undefined && f !== null && f !== 'channels_last') throw ctx.error(`data_format '${String(f)}' is not supported`, 'nibble reads channels_last models');
}

function padding(ctx: LayerContext): Padding {
  const p = ctx.config.padding ?? 'valid';
  if (p === 'same' || p === 'valid') return p;
  throw ctx.error(`padding '${String(p)}' is not supported`, 'use same or valid padding');
}

function input(ctx: LayerContext, rank?: number): Lowered {
  if (ctx.inputs.length !== 1) throw ctx.error(`takes one input, got ${ctx.inputs.length}`);
  const x = ctx.inputs[0];
  if (rank !== undefined && x.shape.length !== rank) throw ctx.error(`expects a rank-${rank} input, got [${x.shape.join(',')}]`);
  return x;
}

/** The layer's activation, applied to `linear` (named `<layer>/linear` when an activation follows). */
function withActivation(ctx: LayerContext, build: (name: string) => Lowered): Lowered {
  const act = ctx.config.activation as string | undefined;
  const linear = build(act && act !== 'linear' ? `${ctx.name}/linear` : ctx.name);
  return activate(ctx.em, linear, act, ctx.name);
}

function convLayer(ctx: LayerContext): Lowered {
  channelsLast(ctx);
  const x = input(ctx, 4);
  const kernel = ctx.weight('kernel');
  const [kh, kw, perGroup] = kernel.shape;
  const groups = num(ctx.config.groups, 1);
  if (perGroup * groups !== x.shape[3] && x.shape[3] !== null) throw ctx.error(`kernel [${kernel.shape.join(',')}] with ${groups} groups does not fit ${x.shape[3]} input channels`);
  return withActivation(ctx, (name) => conv2d(ctx.em, x, {
    weight: transposeTensor(kernel, [3, 2, 0, 1]),
    bias: ctx.config.use_bias === false ? null : ctx.optionalWeight('bias'),
    kernel: [kh, kw],
    strides: pair(ctx, 'strides', [1, 1]),
    dilations: pair(ctx, 'dilation_rate', [1, 1]),
    padding: padding(ctx),
    group: groups,
    weightName: `${ctx.layerName}/kernel`,
    biasName: `${ctx.layerName}/bias`,
  }, name));
}

/** [kh, kw, C, m] depthwise kernel to ONNX [C*m, 1, kh, kw]: output channel c*m+j is group c's j-th filter. */
function depthwiseWeight(k: Tensor): Tensor {
  const [kh, kw, c, m] = k.shape;
  return transposeTensor(k.reshape([1, kh, kw, c * m]), [3, 0, 1, 2]);
}

function depthwiseLayer(ctx: LayerContext): Lowered {
  channelsLast(ctx);
  const x = input(ctx, 4);
  const kernel = ctx.weight('depthwise_kernel');
  const [kh, kw, c] = kernel.shape;
  return withActivation(ctx, (name) => conv2d(ctx.em, x, {
    weight: depthwiseWeight(kernel),
    bias: ctx.config.use_bias === false ? null : ctx.optionalWeight('bias'),
    kernel: [kh, kw],
    strides: pair(ctx, 'strides', [1, 1]),
    dilations: pair(ctx, 'dilation_rate', [1, 1]),
    padding: padding(ctx),
    group: c,
    weightName: `${ctx.layerName}/depthwise_kernel`,
    biasName: `${ctx.layerName}/bias`,
  }, name));
}

function separableLayer(ctx: LayerContext): Lowered {
  channelsLast(ctx);
  const x = input(ctx, 4);
  const dw = ctx.weight('depthwise_kernel');
  const pw = ctx.weight('pointwise_kernel');
  const [kh, kw, c] = dw.shape;
  const depthwise = conv2d(ctx.em, x, {
    weight: depthwiseWeight(dw),
    kernel: [kh, kw],
    strides: pair(ctx, 'strides', [1, 1]),
    dilations: pair(ctx, 'dilation_rate', [1, 1]),
    padding: padding(ctx),
    group: c,
    weightName: `${ctx.layerName}/depthwise_kernel`,
    biasName: '',
  }, `${ctx.name}/depthwise`);
  return withActivation(ctx, (name) => conv2d(ctx.em, depthwise, {
    weight: transposeTensor(pw, [3, 2, 0, 1]),
    bias: ctx.config.use_bias === false ? null : ctx.optionalWeight('bias'),
    kernel: [1, 1],
    strides: [1, 1],
    dilations: [1, 1],
    padding: 'valid',
    group: 1,
    weightName: `${ctx.layerName}/pointwise_kernel`,
    biasName: `${ctx.layerName}/bias`,
  }, name));
}

function convTransposeLayer(ctx: LayerContext): Lowered {
  channelsLast(ctx);
  const x = input(ctx, 4);
  const kernel = ctx.weight('kernel');
  const [kh, kw] = kernel.shape;
  const strides = pair(ctx, 'strides', [1, 1]);
  const dil = pair(ctx, 'dilation_rate', [1, 1]);
  if (dil[0] !== 1 || dil[1] !== 1) throw ctx.error('dilated transposed convolutions are not supported');
  const same = padding(ctx) === 'same';
  const extra = ctx.config.output_padding ? pair(ctx, 'output_padding') : null;
  // Keras' deconv output length: in*s for same, in*s + max(k - s, 0) for valid, or (in-1)*s + k - 2*pad + output_padding.
  const outSize = [x.shape[1], x.shape[2]].map((d, i) => {
    if (d === null) throw ctx.error('needs a known image size');
    const k = i === 0 ? kh : kw;
    if (extra) return (d - 1) * strides[i] + k - (same ? 2 * Math.floor(k / 2) : 0) + extra[i];
    return same ? d * strides[i] : d * strides[i] + Math.max(k - strides[i], 0);
  }) as [number, number];
  return withActivation(ctx, (name) => convTranspose(ctx.em, x, {
    weight: transposeTensor(kernel, [3, 2, 0, 1]),
    bias: ctx.config.use_bias === false ? null : ctx.optionalWeight('bias'),
    strides,
    same,
    outSize,
    weightName: `${ctx.layerName}/kernel`,
    biasName: `${ctx.layerName}/bias`,
  }, name));
}

function batchNormLayer(ctx: LayerContext): Lowered {
  const x = input(ctx);
  const axisCfg = ctx.config.axis;
  const axis = Array.isArray(axisCfg) ? axisCfg[0] : num(axisCfg, -1);
  if (axis !== -1 && axis !== x.shape.length - 1) throw ctx.error(`normalizes axis ${axis}; nibble supports the channel (last) axis`);
  const mean = ctx.weight('moving_mean');
  const ones = (): Tensor => new Tensor('float32', mean.shape, new Float32Array(mean.size).fill(1));
  return batchNorm(ctx.em, x, {
    gamma: ctx.config.scale === false ? ones() : ctx.weight('gamma'),
    beta: ctx.config.center === false ? new Tensor('float32', mean.shape) : ctx.weight('beta'),
    mean,
    variance: ctx.weight('moving_variance'),
    epsilon: num(ctx.config.epsilon, 1e-3),
  }, ctx.name);
}

function denseLayer(ctx: LayerContext): Lowered {
  const x = input(ctx);
  const kernel = ctx.weight('kernel');
  const bias = ctx.config.use_bias === false ? null : ctx.optionalWeight('bias');
  return withActivation(ctx, (name) => dense(ctx.em, x, kernel, bias, name, `${ctx.layerName}/kernel`, `${ctx.layerName}/bias`));
}

function poolLayer(kind: 'max' | 'avg'): LayerLowering {
  return (ctx) => {
    channelsLast(ctx);
    const size = pair(ctx, 'pool_size', [2, 2]);
    return pool2d(ctx.em, input(ctx, 4), kind, { kernel: size, strides: pair(ctx, 'strides', size), padding: padding(ctx) }, ctx.name);
  };
}

function globalPoolLayer(kind: 'max' | 'avg'): LayerLowering {
  return (ctx) => {
    channelsLast(ctx);
    return globalPool2d(ctx.em, input(ctx, 4), kind, ctx.config.keepdims === true, ctx.name);
  };
}

function mergeLayer(op: string): LayerLowering {
  return (ctx) => {
    if (ctx.inputs.length < 2) throw ctx.error(`merges at least two inputs, got ${ctx.inputs.length}`);
    return elementwise(ctx.em, op, ctx.inputs, ctx.name);
  };
}

function averageLayer(ctx: LayerContext): Lowered {
  const sum = elementwise(ctx.em, 'Add', ctx.inputs, `${ctx.name}/sum`);
  const k = ctx.em.constant(`${ctx.name}/scale`, Tensor.scalar('float32', 1 / ctx.inputs.length));
  return { ...sum, value: ctx.em.node('Mul', [sum.value, k], {}, ctx.name, layoutShape(sum.shape, sum.layout)) };
}

function zeroPaddingLayer(ctx: LayerContext): Lowered {
  channelsLast(ctx);
  const x = input(ctx, 4);
  const p = ctx.config.padding;
  let hw: [[number, number], [number, number]];
  if (typeof p === 'number') hw = [[p, p], [p, p]];
  else if (Array.isArray(p) && p.every((v) => typeof v === 'number')) hw = [[p[0], p[0]], [p[1], p[1]]];
  else if (Array.isArray(p) && p.every((v) => Array.isArray(v) && v.length === 2)) hw = p as [[number, number], [number, number]];
  else throw ctx.error(`padding ${JSON.stringify(p)} is not understood`);
  return pad(ctx.em, x, [[0, 0], hw[0], hw[1], [0, 0]], ctx.name);
}

function reluLayer(ctx: LayerContext): Lowered {
  const x = input(ctx);
  const max = ctx.config.max_value;
  const slope = num(ctx.config.negative_slope, 0);
  const threshold = num(ctx.config.threshold, 0);
  if (threshold !== 0) throw ctx.error('ReLU with a threshold is not supported');
  if (slope !== 0) {
    const leaky = activate(ctx.em, x, 'leaky_relu', typeof max === 'number' ? `${ctx.name}/leaky` : ctx.name, { alpha: slope });
    return typeof max === 'number' ? minimum(ctx, leaky, max) : leaky;
  }
  return typeof max === 'number' ? clip(ctx.em, x, 0, max, ctx.name) : activate(ctx.em, x, 'relu', ctx.name);
}

function minimum(ctx: LayerContext, x: Lowered, max: number): Lowered {
  const m = ctx.em.floatScalar(`${ctx.name}/max`, max);
  return { ...x, value: ctx.em.node('Min', [x.value, m], {}, ctx.name, layoutShape(x.shape, x.layout)) };
}

function preluLayer(ctx: LayerContext): Lowered {
  const x = input(ctx);
  const alpha = ctx.weight('alpha');
  const slope: Lowered = { value: ctx.em.constant(`${ctx.layerName}/alpha`, alpha), layout: 'plain', shape: [...alpha.shape] };
  const { values, layout } = harmonize(ctx.em, [x, slope], x.shape.length);
  return { value: ctx.em.node('PRelu', values, {}, ctx.name, layoutShape(x.shape, layout)), layout, shape: x.shape };
}

function reshapeLayer(ctx: LayerContext): Lowered {
  const target = (ctx.config.target_shape ?? ctx.config.targetShape) as number[] | undefined;
  if (!Array.isArray(target)) throw ctx.error('has no target_shape');
  // Keras' target shape leaves out the batch; ONNX's 0 copies it from the input.
  return reshape(ctx.em, input(ctx), [0, ...target], ctx.name);
}

function upSamplingLayer(ctx: LayerContext): Lowered {
  channelsLast(ctx);
  const x = input(ctx, 4);
  const [sh, sw] = pair(ctx, 'size', [2, 2]);
  if (x.shape[1] === null || x.shape[2] === null) throw ctx.error('needs a known image size');
  const mode = ctx.config.interpolation === 'bilinear' ? 'bilinear' : 'nearest';
  // TF.js resizes without half-pixel centers here.
  return resize(ctx.em, x, [x.shape[1] * sh, x.shape[2] * sw], mode, 'asymmetric', ctx.name);
}

function rescalingLayer(ctx: LayerContext): Lowered {
  const x = input(ctx);
  const em = ctx.em;
  const scaled = em.node('Mul', [x.value, em.floatScalar(`${ctx.name}/scale`, num(ctx.config.scale, 1))], {}, `${ctx.name}/scaled`, layoutShape(x.shape, x.layout));
  const value = em.node('Add', [scaled, em.floatScalar(`${ctx.name}/offset`, num(ctx.config.offset, 0))], {}, ctx.name, layoutShape(x.shape, x.layout));
  return { ...x, value };
}

const identity: LayerLowering = (ctx) => input(ctx);

export const LAYERS: Readonly<Record<string, LayerLowering>> = {
  Conv2D: convLayer,
  DepthwiseConv2D: depthwiseLayer,
  SeparableConv2D: separableLayer,
  Conv2DTranspose: convTransposeLayer,
  BatchNormalization: batchNormLayer,
  Dense: denseLayer,
  Activation: (ctx) => activate(ctx.em, input(ctx), ctx.config.activation as string, ctx.name),
  ReLU: reluLayer,
  LeakyReLU: (ctx) => activate(ctx.em, input(ctx), 'leaky_relu', ctx.name, { alpha: num(ctx.config.alpha ?? ctx.config.negative_slope, 0.3) }),
  ELU: (ctx) => activate(ctx.em, input(ctx), 'elu', ctx.name, { alpha: num(ctx.config.alpha, 1) }),
  PReLU: preluLayer,
  Softmax: (ctx) => softmax(ctx.em, input(ctx), num(ctx.config.axis, -1), ctx.name),
  MaxPooling2D: poolLayer('max'),
  AveragePooling2D: poolLayer('avg'),
  GlobalAveragePooling2D: globalPoolLayer('avg'),
  GlobalMaxPooling2D: globalPoolLayer('max'),
  Add: mergeLayer('Add'),
  Subtract: mergeLayer('Sub'),
  Multiply: mergeLayer('Mul'),
  Maximum: mergeLayer('Max'),
  Minimum: mergeLayer('Min'),
  Average: averageLayer,
  Concatenate: (ctx) => concat(ctx.em, ctx.inputs, num(ctx.config.axis, -1), ctx.name),
  ZeroPadding2D: zeroPaddingLayer,
  Reshape: reshapeLayer,
  Flatten: (ctx) => {
    channelsLast(ctx);
    return flatten(ctx.em, input(ctx), ctx.name);
  },
  UpSampling2D: upSamplingLayer,
  Rescaling: rescalingLayer,
  Dropout: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  ActivityRegularization: identity,
};

export function supportedLayers(): string[] {
  return ['InputLayer', ...Object.keys(LAYERS)].sort();
}
