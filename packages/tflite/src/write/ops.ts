import { constantTensor, type Node, samePadding } from '@nibble/ir';
import { Activation, F, Padding } from '../schema';
import { biasOf, type Filter, filterOf, type FilterLayout, packInt4 } from './filters';
import { layerMultiplier } from './requant';
import { type Grid, gridOf, gridTop, sameGrid, startsAtZero, tfliteError } from './grid';
import type { TestOperator } from './flatbuffer-builder';
import type { Slot, TfliteWriter } from './writer';

/*
 * One emitter per ONNX op of the quantized IR: the TFLite operators that
 * compute it on int8 tensors. Layers (Conv, Gemm) requantize into their
 * output's grid; ops that keep their input's levels (MaxPool, Flatten,
 * Reshape, Concat of equal grids, Pad with the zero point, ReLU after a grid
 * starting at 0) keep its grid, which is what the simulation computes: the
 * same levels, no rounding.
 */

export type Emitter = (w: TfliteWriter, n: Node) => void;

/** NCHW axis -> NHWC axis of a rank-4 tensor. */
export const NHWC_AXIS = [0, 3, 1, 2];

export function filterTensor(w: TfliteWriter, name: string, f: Filter): number {
  const int4 = w.options.weights === 'int4' && f.fitsInt4;
  return w.addTensor({
    name, shape: f.shape, type: int4 ? 'INT4' : 'INT8', data: int4 ? packInt4(f.levels) : f.levels,
    quantization: { scale: f.scale, zeroPoint: f.scale.map(() => 0), quantizedDimension: f.axis },
  });
}

export function biasTensor(w: TfliteWriter, n: Node, x: Slot, f: Filter, channels: number, output: Grid, kind: 'conv' | 'fc', symmetric = false): number {
  const b = biasOf(n, n.inputs[2], x.grid.scale, f, channels, w.target, output.scale, kind, symmetric);
  if (symmetric) w.symmetricRounding(n, n.outputs[0], f.scale.map((sw) => layerMultiplier(x.grid.scale, sw, output.scale, kind)), output.scale);
  w.biases.set(n, b);
  return w.addTensor({
    name: n.inputs[2]?.name ?? `${n.name}/bias`, shape: [channels], type: 'INT32', data: b.values,
    quantization: { scale: b.scale, zeroPoint: b.scale.map(() => 0), quantizedDimension: 0 },
  });
}

/**
 * TFLite's padding (SAME or VALID) for ONNX's explicit pads; pads that are
 * neither become a PAD operator in front (int8 PAD fills with the zero
 * point, which is 0.0 on the grid: ONNX's zero padding) when `explicit`.
 */
function padding(w: TfliteWriter, n: Node, x: Slot, kernel: number[], strides: number[], dilations: number[], explicit: boolean): { padding: Padding; input: Slot } {
  const [, h, wd] = x.shape;
  const auto = n.getString('auto_pad', 'NOTSET');
  if (auto === 'VALID') return { padding: Padding.VALID, input: x };
  if (auto === 'SAME_UPPER') return { padding: Padding.SAME, input: x };
  let pads = n.getInts('pads', [0, 0, 0, 0]);
  if (auto === 'SAME_LOWER') {
    const [[hb, he], [wb, we]] = [samePadding(h, kernel[0], strides[0], dilations[0]), samePadding(wd, kernel[1], strides[1], dilations[1])];
    pads = [he, we, hb, wb];
  }
  const [top, left, bottom, right] = pads;
  if (pads.every((p) => p === 0)) return { padding: Padding.VALID, input: x };
  const sh = samePadding(h, kernel[0], strides[0], dilations[0]);
  const sw = samePadding(wd, kernel[1], strides[1], dilations[1]);
  if (top === sh[0] && bottom === sh[1] && left === sw[0] && right === sw[1]) return { padding: Padding.SAME, input: x };
  if (!explicit) {
    throw tfliteError(w.target, n, n.inputs[0]!, `pads [${pads.join(', ')}] are neither SAME nor VALID`, 'TFLite pools pad only as SAME or VALID');
  }
  const shape = [x.shape[0], h + top + bottom, wd + left + right, x.shape[3]];
  const t = w.tensors[x.index];
  const out = w.activation(`${n.name}/padded`, shape, x.grid, !!t.shapeSignature);
  const paddings = w.int32(`${n.name}/paddings`, [0, 0, top, bottom, left, right, 0, 0], [4, 2]);
  w.operators.push({ op: 'PAD', inputs: [x.index, paddings], outputs: [out] });
  return { padding: Padding.VALID, input: { index: out, grid: x.grid, shape } };
}

export function rank4(w: TfliteWriter, n: Node, x: Slot): void {
  if (x.shape.length !== 4) throw tfliteError(w.target, n, n.inputs[0]!, `the input has rank ${x.shape.length}; the writer handles 2-D (NCHW) ${n.opType} only`, 'use a 2-D model');
}

const conv: Emitter = (w, n) => {
  const x = w.slot(n.inputs[0], n);
  rank4(w, n, x);
  const q = constantTensor(n.inputs[1]?.producer?.inputs[0] ?? null);
  const group = n.getInt('group', 1);
  const channelsIn = x.shape[3];
  let layout: FilterLayout = 'conv';
  if (group !== 1) {
    if (group !== channelsIn || q?.shape[1] !== 1) {
      throw tfliteError(w.target, n, undefined, `grouped convolution (group=${group} of ${channelsIn} channels) has no int8 TFLite kernel`, 'only group=1 and depthwise (group = input channels) convolutions are written');
    }
    layout = 'depthwise';
  }
  const f = filterOf(n, layout, w.target);
  const channelsOut = layout === 'conv' ? f.shape[0] : f.shape[3];
  const kernel = [f.shape[1], f.shape[2]];
  const [sh, sw] = n.getInts('strides', [1, 1]);
  const [dh, dw] = n.getInts('dilations', [1, 1]);
  const { padding: pad, input } = padding(w, n, x, kernel, [sh, sw], [dh, dw], true);
  const y = n.outputs[0];
  const grid = w.outputGrid(n, y);
  const inputs = [input.index, filterTensor(w, n.inputs[1]!.name, f), biasTensor(w, n, input, f, channelsOut, grid, 'conv', layout === 'depthwise')];
  if (layout === 'conv') {
    w.produce(n, y, grid, {
      op: 'CONV_2D', inputs,
      options: [[F.Conv2DOptions.padding, 'i8', pad], [F.Conv2DOptions.strideW, 'i32', sw], [F.Conv2DOptions.strideH, 'i32', sh],
        [F.Conv2DOptions.activation, 'i8', Activation.NONE], [F.Conv2DOptions.dilationW, 'i32', dw], [F.Conv2DOptions.dilationH, 'i32', dh]],
    }, F.Conv2DOptions.activation);
  } else {
    const o = F.DepthwiseConv2DOptions;
    w.produce(n, y, grid, {
      op: 'DEPTHWISE_CONV_2D', inputs,
      options: [[o.padding, 'i8', pad], [o.strideW, 'i32', sw], [o.strideH, 'i32', sh], [o.depthMultiplier, 'i32', channelsOut / channelsIn],
        [o.activation, 'i8', Activation.NONE], [o.dilationW, 'i32', dw], [o.dilationH, 'i32', dh]],
    }, o.activation);
  }
};

/**
 * Gemm: FULLY_CONNECTED when its filter has one scale. TFLite 2.9's int8
 * FULLY_CONNECTED reads one filter scale (per-channel scales give all-zero
 * outputs there, measured), so a per-channel layer is the same product as
 * a 1x1 CONV_2D: RESHAPE [N, K] -> [N, 1, 1, K], CONV_2D with the [O, K]
 * levels as an [O, 1, 1, K] filter, RESHAPE back to [N, O].
 */
const gemm: Emitter = (w, n) => {
  const x = w.slot(n.inputs[0], n);
  if (x.shape.length !== 2 || n.getInt('transA', 0) !== 0 || n.getFloat('alpha', 1) !== 1 || n.getFloat('beta', 1) !== 1) {
    throw tfliteError(w.target, n, undefined, 'only Gemm of a 2-D input with transA=0, alpha=1, beta=1 is a FULLY_CONNECTED', 'export the layer as a plain fully connected layer');
  }
  const f = filterOf(n, 'fc', w.target, n.getInt('transB', 0) === 0);
  const y = n.outputs[0];
  const grid = w.outputGrid(n, y);
  const [o, k] = f.shape;
  if (f.scale.length === 1) {
    const opts = F.FullyConnectedOptions;
    w.produce(n, y, grid, {
      op: 'FULLY_CONNECTED', inputs: [x.index, filterTensor(w, n.inputs[1]!.name, f), biasTensor(w, n, x, f, o, grid, 'fc')],
      options: [[opts.activation, 'i8', Activation.NONE], [opts.weightsFormat, 'i8', 0], [opts.keepNumDims, 'bool', false]],
    }, opts.activation);
    return;
  }
  const { shape, batchFree } = w.fileShape(y, n);
  const reshape = (from: number, to: number[], name: string, g: Grid): number => {
    const target = batchFree ? [-1, ...to.slice(1)] : to;
    return w.emitOp(name, to, batchFree, g, { op: 'RESHAPE', inputs: [from, w.int32(`${name}/shape`, target)], options: [[F.ReshapeOptions.newShape, 'ints', target]] }, undefined, false);
  };
  const image = reshape(x.index, [x.shape[0], 1, 1, k], `${n.name}/input_1x1`, x.grid);
  const c = F.Conv2DOptions;
  const conv1x1 = w.emitOp(`${n.name}/conv_1x1`, [shape[0], 1, 1, o], batchFree, grid, {
    op: 'CONV_2D', inputs: [image, filterTensor(w, n.inputs[1]!.name, { ...f, shape: [o, 1, 1, k] }), biasTensor(w, n, x, f, o, grid, 'conv')],
    options: [[c.padding, 'i8', Padding.VALID], [c.strideW, 'i32', 1], [c.strideH, 'i32', 1], [c.activation, 'i8', Activation.NONE], [c.dilationW, 'i32', 1], [c.dilationH, 'i32', 1]],
  }, c.activation);
  const s = w.produce(n, y, grid, { op: 'RESHAPE', inputs: [conv1x1, w.int32(`${n.name}/shape`, batchFree ? [-1, o] : shape)], options: [[F.ReshapeOptions.newShape, 'ints', batchFree ? [-1, o] : shape]] }, undefined, false);
  w.forwardFusion(conv1x1, s.index);
};

export const add: Emitter = (w, n) => {
  const [a, b] = [w.slot(n.inputs[0], n), w.slot(n.inputs[1], n)];
  const y = n.outputs[0];
  const grid = w.outputGrid(n, y);
  // TFLite's int8 ADD: both inputs to 2^20 steps of twice the larger scale, summed, one symmetric requantization (rounding.ts).
  const twiceMax = 2 * Math.max(Math.fround(a.grid.scale), Math.fround(b.grid.scale));
  w.symmetricRounding(n, y, [twiceMax / Math.fround(2 ** 20 * grid.scale)], grid.scale);
  w.produce(n, y, grid, { op: 'ADD', inputs: [a.index, b.index], options: [[F.ArithmeticOptions.activation, 'i8', Activation.NONE]] }, F.ArithmeticOptions.activation);
};

/** A ReLU (or Clip(0, max) above the grid's top) after a grid that starts at 0 is that grid: the int8 saturation computes it. */
const relu: Emitter = (w, n) => {
  const x = w.slot(n.inputs[0], n);
  const y = n.outputs[0];
  let lo = 0;
  let hi = Infinity;
  if (n.opType === 'Clip') {
    lo = constantTensor(n.inputs[1] ?? null)?.toFloat64()[0] ?? n.getFloat('min', -Infinity);
    hi = constantTensor(n.inputs[2] ?? null)?.toFloat64()[0] ?? n.getFloat('max', Infinity);
  }
  // The float32 top of a nudged grid may pass a ReLU6's 6 by an ulp.
  const covers = lo <= 0 && gridTop(x.grid) <= hi * (1 + 1e-6);
  if (startsAtZero(x.grid) && covers && lo === 0) {
    w.fuse(x, hi === 6 ? Activation.RELU6 : Activation.RELU);
    const own = gridOf(y, w.target, n);
    if (!own || sameGrid(own, x.grid)) {
      w.alias(y, x);
      return;
    }
    // The IR quantizes the ReLU's output on a grid of its own (integer-inputs marks a layer's input there): one
    // requantization of the input's levels, as the simulation quantizes them once.
    requantizeRounding(w, n, x.grid, own);
    w.produce(n, y, own, { op: 'QUANTIZE', inputs: [x.index] });
    return;
  }
  if (n.opType === 'Relu') {
    // max(q, zero point) on the same grid: exactly ReLU of the grid's values (then into the output's own grid, if any).
    const zero = w.addTensor({ name: `${n.name}/zero`, shape: [1], type: 'INT8', data: Int8Array.of(x.grid.zeroPoint), quantization: { scale: [x.grid.scale], zeroPoint: [x.grid.zeroPoint] } });
    keepGrid(w, n, x, { op: 'MAXIMUM', inputs: [x.index, zero] });
    return;
  }
  throw tfliteError(w.target, n, n.inputs[0]!, `Clip(${lo}, ${hi}) of a grid from ${((x.grid.qmin - x.grid.zeroPoint) * x.grid.scale).toPrecision(6)} to ${gridTop(x.grid).toPrecision(6)} is not a grid of its own`,
    'mark-fused-relu before quant-policy makes the layer\'s grid one-sided and bounded by the Clip');
};

/**
 * An op that keeps its input's levels (MaxPool, Flatten, Pad, ...). When the
 * IR quantizes its output on a grid of its own (integer-inputs marks a
 * layer's input there), the op writes its input's grid and a QUANTIZE
 * (int8 -> int8) requantizes into the output's: one rounding, as the
 * simulation quantizes the op's exact float output once.
 */
export function keepGrid(w: TfliteWriter, n: Node, x: Slot, op: Omit<TestOperator, 'outputs'>, activationField?: number): void {
  const y = n.outputs[0];
  const own = gridOf(y, w.target, n);
  if (!own || sameGrid(own, x.grid)) {
    w.produce(n, y, x.grid, op, activationField, false);
    return;
  }
  const { shape, batchFree } = w.fileShape(y, n);
  const kept = w.emitOp(`${y.name}/input_grid`, shape, batchFree, x.grid, op, activationField, false);
  requantizeRounding(w, n, x.grid, own);
  w.produce(n, y, own, { op: 'QUANTIZE', inputs: [kept] });
}

/** TFLite's int8 -> int8 QUANTIZE requantizes by s_in / s_out (in double) with MultiplyByQuantizedMultiplier: symmetric rounding (rounding.ts). */
function requantizeRounding(w: TfliteWriter, n: Node, from: Grid, to: Grid): void {
  w.symmetricRounding(n, n.outputs[0], [Math.fround(from.scale) / Math.fround(to.scale)], to.scale);
}

const maxPool: Emitter = (w, n) => {
  const x = w.slot(n.inputs[0], n);
  rank4(w, n, x);
  const [kh, kw] = n.getInts('kernel_shape', []);
  const [sh, sw] = n.getInts('strides', [1, 1]);
  if (n.getInts('dilations', [1, 1]).some((d) => d !== 1) || n.getInt('ceil_mode', 0) !== 0) {
    throw tfliteError(w.target, n, undefined, 'dilated or ceil_mode MaxPool has no TFLite form', 'use dilations 1 and ceil_mode 0');
  }
  const { padding: pad } = padding(w, n, x, [kh, kw], [sh, sw], [1, 1], false);
  const o = F.Pool2DOptions;
  keepGrid(w, n, x, {
    op: 'MAX_POOL_2D', inputs: [x.index],
    options: [[o.padding, 'i8', pad], [o.strideW, 'i32', sw], [o.strideH, 'i32', sh], [o.filterWidth, 'i32', kw], [o.filterHeight, 'i32', kh], [o.activation, 'i8', Activation.NONE]],
  }, o.activation);
};

/**
 * Average pooling. Over the whole image (GlobalAveragePool, or an AveragePool whose window is the image): MEAN
 * over H and W (default) or, with the option averagePool: 'conv', a depthwise conv of equal weights. Any other
 * window is always that depthwise conv, strided like the pool: TFLite's int8 AVERAGE_POOL_2D divides with its
 * own rounding and requires the output on the input's grid, which the simulation's pool (the exact mean
 * quantized once onto the output's grid) does not follow.
 */
const averagePool: Emitter = (w, n) => {
  const x = w.slot(n.inputs[0], n);
  rank4(w, n, x);
  const [kh, kw] = n.getInts('kernel_shape', [x.shape[1], x.shape[2]]);
  const strides = n.getInts('strides', [1, 1]);
  const zeroPads = !n.getString('auto_pad', 'NOTSET').startsWith('SAME') && n.getInts('pads', [0, 0, 0, 0]).every((p) => p === 0);
  const y = n.outputs[0];
  const grid = w.outputGrid(n, y);
  const count = kh * kw;
  // The conv form's 127 * 255 * count must fit its int32 accumulator.
  const fitsConv = count <= 66000;
  if (kh === x.shape[1] && kw === x.shape[2] && zeroPads && (w.options.averagePool !== 'conv' || !fitsConv)) {
    const axes = w.int32(`${n.name}/axes`, [1, 2]);
    w.produce(n, y, grid, { op: 'MEAN', inputs: [x.index, axes], options: [[F.ReducerOptions.keepDims, 'bool', true]] });
    return;
  }
  if (!fitsConv) throw tfliteError(w.target, n, undefined, `an AveragePool window of ${count} values overflows the int32 sum of its int8 form`, 'pool over at most 66,000 values');
  if (n.getInt('ceil_mode', 0) !== 0 || n.getInts('dilations', [1, 1]).some((d) => d !== 1)) {
    throw tfliteError(w.target, n, undefined, 'a dilated or ceil_mode AveragePool has no TFLite form', 'use dilations 1 and ceil_mode 0');
  }
  // Padding enters the sum as the zero point, real 0: the pool's divisor stays kh * kw only when the padding counts.
  if (!zeroPads && n.getInt('count_include_pad', 0) !== 1) {
    throw tfliteError(w.target, n, undefined, 'a padded AveragePool without count_include_pad divides by fewer values at the borders, which an equal-weight filter cannot', 'pad explicitly before the pool, or set count_include_pad=1');
  }
  const { padding: pad, input } = padding(w, n, x, [kh, kw], strides, [1, 1], true);
  // Every filter level 127 at scale 1/(127 kh kw): integer sums and one requantization, which the simulation models
  // exactly (rounding.ts). TFLite 2.9's int8 MEAN rounds in float32: a level off on some outputs (PP-OCR det's
  // squeeze-excite pools: 1 of 192, 3 of 384). The cost is the filter, kh * kw * C bytes per pool (a whole-image
  // pool of PP-OCR det at 320x320: 1.1 MB), hence an option for global pools.
  const channels = input.shape[3];
  const f: Filter = { shape: [1, kh, kw, channels], levels: new Int8Array(count * channels).fill(127), scale: [Math.fround(1 / (127 * count))], axis: 3, fitsInt4: false };
  const bias = w.addTensor({
    name: `${n.name}/bias`, shape: [channels], type: 'INT32', data: new Int32Array(channels),
    quantization: { scale: [Math.fround(input.grid.scale * f.scale[0])], zeroPoint: [0], quantizedDimension: 0 },
  });
  w.symmetricRounding(n, y, [layerMultiplier(input.grid.scale, f.scale[0], grid.scale, 'conv')], grid.scale);
  const o = F.DepthwiseConv2DOptions;
  w.produce(n, y, grid, {
    op: 'DEPTHWISE_CONV_2D', inputs: [input.index, filterTensor(w, `${n.name}/average`, f), bias],
    options: [[o.padding, 'i8', pad], [o.strideW, 'i32', strides[1]], [o.strideH, 'i32', strides[0]], [o.depthMultiplier, 'i32', 1],
      [o.activation, 'i8', Activation.NONE], [o.dilationW, 'i32', 1], [o.dilationH, 'i32', 1]],
  }, o.activation);
};

/** Flatten / Reshape to [N, K]: NHWC data is put back in NCHW order first unless H = W = 1. */
const flatten: Emitter = (w, n) => {
  let x = w.slot(n.inputs[0], n);
  const y = n.outputs[0];
  const grid = x.grid;
  const { shape, batchFree } = w.fileShape(y, n);
  if (n.opType === 'Flatten' && n.getInt('axis', 1) !== 1) throw tfliteError(w.target, n, undefined, 'only Flatten with axis=1 is written', 'flatten from axis 1');
  // A vector (one dimension past the batch above 1) has one element order in every layout.
  const vector = (s: number[]) => s.slice(1).filter((d) => d > 1).length <= 1;
  const plain = vector(x.shape) && vector(shape);
  if (!plain && (shape.length > 3 || (x.shape.length === 4 && shape.length !== 2))) {
    throw tfliteError(w.target, n, y, `reshape of rank ${x.shape.length} to rank ${shape.length} is not written`, 'reshape to [N, K]');
  }
  if (!plain && x.shape.length === 4 && x.shape[1] * x.shape[2] > 1) {
    const nchw = [x.shape[0], x.shape[3], x.shape[1], x.shape[2]];
    const t = w.activation(`${n.name}/nchw`, nchw, grid, batchFree);
    w.operators.push({ op: 'TRANSPOSE', inputs: [x.index, w.int32(`${n.name}/perm`, [0, 3, 1, 2])], outputs: [t] });
    x = { index: t, grid, shape: nchw };
  }
  const target = batchFree ? [-1, ...shape.slice(1)] : shape;
  keepGrid(w, n, x, { op: 'RESHAPE', inputs: [x.index, w.int32(`${n.name}/shape`, target)], options: [[F.ReshapeOptions.newShape, 'ints', target]] });
};

/** CONCATENATION moves levels only: every input is on the output's grid (requantized by QUANTIZE where the IR gives the output one). */
const concat: Emitter = (w, n) => {
  let xs = n.inputs.map((v) => w.slot(v, n));
  const y = n.outputs[0];
  const grid = gridOf(y, w.target, n) ?? xs[0].grid;
  if (!gridOf(y, w.target, n) && xs.some((s) => !sameGrid(s.grid, grid))) {
    throw tfliteError(w.target, n, y, 'the inputs of Concat are on different grids and its output on none (TFLite\'s int8 CONCATENATION does not requantize)',
      'quantize the Concat output (quant-policy{override=[<node>:a8]}), or keep the model for target sim');
  }
  xs = xs.map((s, i) => {
    if (sameGrid(s.grid, grid)) return s;
    const t = w.tensors[s.index];
    const index = w.emitOp(`${n.name}/input_${i}`, s.shape, !!t.shapeSignature, grid, { op: 'QUANTIZE', inputs: [s.index] });
    return { index, grid, shape: s.shape };
  });
  const rank = xs[0].shape.length;
  let axis = n.getInt('axis', 0);
  if (axis < 0) axis += rank;
  w.produce(n, y, grid, {
    op: 'CONCATENATION', inputs: xs.map((s) => s.index),
    options: [[F.ConcatenationOptions.axis, 'i32', rank === 4 ? NHWC_AXIS[axis] : axis], [F.ConcatenationOptions.activation, 'i8', Activation.NONE]],
  }, F.ConcatenationOptions.activation, false);
};

/** Pads of a constant zero Pad in the file's order ([rank, 2], NHWC for rank 4). */
function paddingsOf(w: TfliteWriter, n: Node, rank: number): number[] {
  const pads = constantTensor(n.inputs[1] ?? null)?.toFloat64();
  const value = n.inputs[2] ? constantTensor(n.inputs[2])?.toFloat64()[0] : 0;
  if (n.getString('mode', 'constant') !== 'constant' || !pads || value !== 0 || n.inputs[3]) {
    throw tfliteError(w.target, n, undefined, 'only constant zero padding with constant pads is written', 'pad with zeros, or keep the model for target sim');
  }
  const order = rank === 4 ? [0, 2, 3, 1] : [...Array(rank).keys()];
  return order.flatMap((a) => [pads[a], pads[a + rank]]);
}

/**
 * A zero Pad of the float network input (quant-policy marks the Pad's
 * output, not the input, when a Pad leads to the first conv): float PAD,
 * then QUANTIZE into the Pad output's grid, as the simulation computes it.
 */
function padFloatInput(w: TfliteWriter, n: Node, input: number): void {
  const y = n.outputs[0];
  const t = w.tensors[input];
  const { shape, batchFree } = w.fileShape(y, n);
  const padded = w.addTensor({ name: `${y.name}/float`, shape, type: 'FLOAT32', ...(batchFree ? { shapeSignature: [-1, ...shape.slice(1)] } : {}) });
  w.operators.push({ op: 'PAD', inputs: [input, w.int32(`${n.name}/paddings`, paddingsOf(w, n, t.shape.length), [t.shape.length, 2])], outputs: [padded] });
  w.produce(n, y, w.outputGrid(n, y), { op: 'QUANTIZE', inputs: [padded] });
}

/** Constant zero padding: PAD fills with the zero point, which is 0.0 on the grid. */
const pad: Emitter = (w, n) => {
  const floatInput = w.floatInput(n.inputs[0]);
  if (floatInput !== undefined) return padFloatInput(w, n, floatInput);
  const x = w.slot(n.inputs[0], n);
  const r = x.shape.length;
  keepGrid(w, n, x, { op: 'PAD', inputs: [x.index, w.int32(`${n.name}/paddings`, paddingsOf(w, n, r), [r, 2])] });
};

/**
 * A Softmax on the logits, as the network's output: the simulation leaves it
 * float, so the file dequantizes the logits and runs TFLite's float SOFTMAX
 * (an int8 SOFTMAX would quantize the probabilities to 1/256). Anywhere else
 * it is refused.
 */
const softmax: Emitter = (w, n) => {
  const x = w.slot(n.inputs[0], n);
  const y = n.outputs[0];
  const axis = n.getInt('axis', -1);
  if (!y.isGraphOutput || y.uses.length > 0 || (axis !== -1 && axis !== x.shape.length - 1) || x.shape.length === 4) {
    throw tfliteError(w.target, n, y, 'Softmax is written only on the network\'s output, over the last axis of a [N, classes] tensor', 'end the network with the Softmax, or keep the model for target sim');
  }
  const t = w.tensors[x.index];
  const float = { shape: t.shape, type: 'FLOAT32' as const, ...(t.shapeSignature ? { shapeSignature: t.shapeSignature } : {}) };
  const logits = w.addTensor({ name: `${n.inputs[0]!.name}/float`, ...float });
  const probs = w.addTensor({ name: y.name, ...float });
  w.operators.push({ op: 'DEQUANTIZE', inputs: [x.index], outputs: [logits] });
  w.operators.push({ op: 'SOFTMAX', inputs: [logits], outputs: [probs], options: [[F.SoftmaxOptions.beta, 'f32', 1]] });
  w.floatOutput(y, probs);
};

const identity: Emitter = (w, n) => w.alias(n.outputs[0], w.slot(n.inputs[0], n));

/** The emitters of layers, pools, shape ops and residual sums (ops-elementwise.ts and ops-upsample.ts hold the rest; emitters.ts joins them). */
export const BASE_EMITTERS: Readonly<Record<string, Emitter>> = {
  Conv: conv, Gemm: gemm, Add: add, Relu: relu, Clip: relu, MaxPool: maxPool, GlobalAveragePool: averagePool, AveragePool: averagePool,
  Flatten: flatten, Reshape: flatten, Concat: concat, Pad: pad, Softmax: softmax, Identity: identity, Dropout: identity,
};
