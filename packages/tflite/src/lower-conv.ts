import { attr, layoutShape, transposeTensor, type Value } from '@nibble/ir';
import { applyActivation, emitWithActivation, linearName, windowPads, type LowerContext } from './context';
import { Activation, F, Padding } from './schema';

/* Convolutions and fully connected layers: weights move to ONNX layouts here. */

/** A float32 weight initializer named after its TFLite tensor. */
function weight(ctx: LowerContext, i: number, role: string, perm?: number[]): Value {
  const t = ctx.requireConstant(i, role);
  return ctx.em.constant(ctx.inputTensor(i).name, perm ? transposeTensor(t, perm) : t);
}

function optionalBias(ctx: LowerContext, i: number): Value | null {
  return ctx.hasInput(i) ? weight(ctx, i, 'bias') : null;
}

export function lowerConv2d(ctx: LowerContext): void {
  const o = F.Conv2DOptions;
  const opt = ctx.options;
  const x = ctx.input(0);
  const filter = ctx.inputTensor(1);
  const [, kh, kw, perGroup] = filter.shape;
  const strides: [number, number] = [opt?.i32(o.strideH) || 1, opt?.i32(o.strideW) || 1];
  const dilations: [number, number] = [opt?.i32(o.dilationH, 1) || 1, opt?.i32(o.dilationW, 1) || 1];
  const channels = x.shape[3];
  if (!perGroup || channels % perGroup !== 0) {
    throw ctx.error(`filter [${filter.shape.join(',')}] does not divide the ${channels} input channels into groups`);
  }
  const w = weight(ctx, 1, 'filter', [0, 3, 1, 2]);
  const pads = windowPads(opt?.i8(o.padding) === Padding.SAME, x.shape, [kh, kw], strides, dilations);
  emitWithActivation(ctx, 'Conv', [ctx.em.as(x, 'nchw'), w, optionalBias(ctx, 2)], {
    kernel_shape: attr.ints([kh, kw]),
    strides: attr.ints(strides),
    dilations: attr.ints(dilations),
    pads: attr.ints(pads),
    group: attr.int(channels / perGroup),
  }, 'nchw', opt?.i8(o.activation) ?? Activation.NONE);
}

export function lowerDepthwiseConv2d(ctx: LowerContext): void {
  const o = F.DepthwiseConv2DOptions;
  const opt = ctx.options;
  const x = ctx.input(0);
  const filter = ctx.inputTensor(1);
  const [one, kh, kw, outChannels] = filter.shape;
  const channels = x.shape[3];
  // depth_multiplier in the options is unreliable in files from newer converters; the shapes decide.
  if (one !== 1 || outChannels % channels !== 0) {
    throw ctx.error(`depthwise filter [${filter.shape.join(',')}] does not fit ${channels} input channels`);
  }
  const strides: [number, number] = [opt?.i32(o.strideH) || 1, opt?.i32(o.strideW) || 1];
  const dilations: [number, number] = [opt?.i32(o.dilationH, 1) || 1, opt?.i32(o.dilationW, 1) || 1];
  // [1, kh, kw, C*m] -> [C*m, 1, kh, kw]: output channel c*m+j of TFLite is ONNX group c's j-th filter.
  const w = weight(ctx, 1, 'filter', [3, 0, 1, 2]);
  const pads = windowPads(opt?.i8(o.padding) === Padding.SAME, x.shape, [kh, kw], strides, dilations);
  emitWithActivation(ctx, 'Conv', [ctx.em.as(x, 'nchw'), w, optionalBias(ctx, 2)], {
    kernel_shape: attr.ints([kh, kw]),
    strides: attr.ints(strides),
    dilations: attr.ints(dilations),
    pads: attr.ints(pads),
    group: attr.int(channels),
  }, 'nchw', opt?.i8(o.activation) ?? Activation.NONE);
}

/**
 * A transposed convolution with TFLite's output-size-driven padding: the
 * padding a forward convolution from the output back to the input would use.
 */
function transposedConv(
  ctx: LowerContext,
  inputIndex: number,
  weightIndex: number,
  biasIndex: number,
  same: boolean,
  strides: [number, number],
  act: number,
): void {
  const x = ctx.input(inputIndex);
  const [, kh, kw] = ctx.inputTensor(weightIndex).shape;
  const out = ctx.outputTensor(0).shape;
  const pads = [0, 0, 0, 0];
  const outputPadding = [0, 0];
  [[x.shape[1], kh, strides[0], out[1]], [x.shape[2], kw, strides[1], out[2]]].forEach(([inSize, k, s, outSize], axis) => {
    const need = (inSize - 1) * s + k - outSize;
    if (need >= 0) {
      pads[axis] = same ? Math.floor(need / 2) : 0;
      pads[axis + 2] = need - pads[axis];
    } else {
      outputPadding[axis] = -need;
      if (-need >= s) throw ctx.error(`output size ${outSize} is beyond what stride ${s} and kernel ${k} reach from ${inSize}`);
    }
  });
  // [O, kh, kw, I] -> ONNX ConvTranspose [I, O, kh, kw].
  const w = weight(ctx, weightIndex, 'filter', [3, 0, 1, 2]);
  const bias = biasIndex >= 0 && ctx.hasInput(biasIndex) ? weight(ctx, biasIndex, 'bias') : null;
  emitWithActivation(ctx, 'ConvTranspose', [ctx.em.as(x, 'nchw'), w, bias], {
    kernel_shape: attr.ints([kh, kw]),
    strides: attr.ints(strides),
    pads: attr.ints(pads),
    output_padding: attr.ints(outputPadding),
  }, 'nchw', act);
}

export function lowerTransposeConv(ctx: LowerContext): void {
  const o = F.TransposeConvOptions;
  const opt = ctx.options;
  // Inputs: output_shape, weights, input, optional bias.
  transposedConv(ctx, 2, 1, 3, opt?.i8(o.padding) === Padding.SAME, [opt?.i32(o.strideH) || 1, opt?.i32(o.strideW) || 1], opt?.i8(o.activation) ?? Activation.NONE);
}

/**
 * MediaPipe's custom Convolution2DTransposeBias: input, weights, bias, and
 * custom options holding the raw C struct {int32 padding (1 SAME, 2 VALID),
 * int32 stride_width, int32 stride_height}.
 */
export function lowerConvolution2DTransposeBias(ctx: LowerContext): void {
  const raw = ctx.op.customOptions;
  if (!raw || raw.byteLength < 12) throw ctx.error('custom options must hold padding and strides (12 bytes)');
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const padding = dv.getInt32(0, true);
  if (padding !== 1 && padding !== 2) throw ctx.error(`unknown padding code ${padding} in custom options`);
  const strides: [number, number] = [dv.getInt32(8, true), dv.getInt32(4, true)];
  if (strides[0] <= 0 || strides[1] <= 0) throw ctx.error(`invalid strides ${strides.join('x')} in custom options`);
  transposedConv(ctx, 0, 1, 2, padding === 1, strides, Activation.NONE);
}

export function lowerFullyConnected(ctx: LowerContext): void {
  const o = F.FullyConnectedOptions;
  const opt = ctx.options;
  if ((opt?.i8(o.weightsFormat) ?? 0) !== 0) throw ctx.error('shuffled weights formats are not supported');
  const x = ctx.input(0);
  const units = ctx.inputTensor(1).shape[0];
  const depth = ctx.inputTensor(1).shape[1];
  const act = opt?.i8(o.activation) ?? Activation.NONE;
  const em = ctx.em;
  let input = em.as(x, 'plain');
  const rows = x.shape.reduce((a, b) => a * b, 1) / depth;
  if (!Number.isInteger(rows)) throw ctx.error(`input [${x.shape.join(',')}] does not split into rows of ${depth}`);
  if (x.shape.length !== 2) {
    input = em.node('Reshape', [input, em.int64s(`${ctx.name}/rows`, [rows, depth])], {}, `${ctx.name}/flatten`, [rows, depth]);
  }
  const w = ctx.constant(1) ? weight(ctx, 1, 'weights') : em.as(ctx.input(1), 'plain');
  const out = ctx.outputTensor(0).shape;
  const bias = optionalBias(ctx, 2);
  const gemmName = out.length === 2 ? linearName(ctx.name, act) : `${ctx.name}/gemm`;
  let y = em.node('Gemm', bias ? [input, w, bias] : [input, w], { transB: attr.int(1) }, gemmName, [rows, units]);
  if (out.length !== 2) {
    y = em.node('Reshape', [y, em.int64s(`${ctx.name}/shape`, out)], {}, linearName(ctx.name, act), [...out]);
  }
  ctx.setOutput(0, applyActivation(ctx, y, act, ctx.name, layoutShape(out, 'plain')), 'plain');
}
