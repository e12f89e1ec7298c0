import { constantTensor, type Node, type Value } from '@nibble/ir';
import { roundHalfEven } from '@nibble/quant';
import { Activation, F, Padding } from '../schema';
import { biasOfValues, type Filter } from './filters';
import { type Grid, tfliteError } from './grid';
import { layerMultiplier } from './requant';
import { add, type Emitter, filterTensor, rank4 } from './ops';
import type { TfliteWriter } from './writer';

/*
 * Elementwise ops of the quantized IR in int8: products of two activations
 * (MUL), hard-swish (HARD_SWISH), the logistic function (LOGISTIC) and
 * affine maps by constants (a * x + b per channel, as exporters write the
 * scale and shift of a normalisation). The quantize pipeline of the tflite
 * targets gives each of their outputs a grid of its own (quant-policy's
 * every-activation), and leaves unquantized the two intermediates these
 * forms compute inside one operator: the HardSigmoid of x * HardSigmoid(x)
 * and the product a * x of an affine pair. Both sides recognise them by
 * the same rules (isHardSwishGate, affinePairOf here; quant-policy's
 * fusedInside).
 */

/** A constant operand broadcast over a rank-4 NCHW activation, as one value per channel; undefined otherwise. */
export function perChannelConstant(v: Value | null | undefined, channels: number): Float64Array | undefined {
  const t = v ? constantTensor(v) : undefined;
  if (!t || !t.dtype.startsWith('float') || t.rank > 4) return undefined;
  const dims = [...Array(4 - t.rank).fill(1), ...t.shape] as number[];
  if (dims.some((d, a) => d !== 1 && !(a === 1 && d === channels))) return undefined;
  const values = t.toFloat64();
  return values.length === channels ? values : new Float64Array(channels).fill(values[0]);
}

/** The constant operand of a binary op and the index of the other (data) input, when exactly one operand is constant. */
function constantOperand(n: Node): { constant: Value; data: number } | undefined {
  const [a, b] = n.inputs;
  const ca = a ? constantTensor(a) !== undefined : false;
  const cb = b ? constantTensor(b) !== undefined : false;
  if (ca === cb) return undefined;
  return ca ? { constant: a!, data: 1 } : { constant: b!, data: 0 };
}

/** x * HardSigmoid(x) with alpha 1/6 and beta 1/2 is ONNX's (and TFLite's) hard-swish: the HardSigmoid node of such a pair. */
export function isHardSwishGate(n: Node): boolean {
  if (n.opType !== 'HardSigmoid' || Math.abs(n.getFloat('alpha', 0.2) - 1 / 6) > 1e-6 || n.getFloat('beta', 0.5) !== 0.5) return false;
  const y = n.outputs[0];
  if (y.uses.length !== 1 || y.isGraphOutput) return false;
  const mul = y.uses[0].node;
  return mul.opType === 'Mul' && mul.inputs[1 - y.uses[0].index] === n.inputs[0];
}

/** Mul by a constant read only by an Add of a constant: one affine map a * x + b (the Mul node and its Add). */
export function affinePairOf(mul: Node): Node | undefined {
  if (mul.opType !== 'Mul' || !constantOperand(mul)) return undefined;
  const y = mul.outputs[0];
  if (y.uses.length !== 1 || y.isGraphOutput) return undefined;
  const next = y.uses[0].node;
  return next.opType === 'Add' && constantOperand(next) ? next : undefined;
}

/**
 * a * x + b per channel as a 1x1 DEPTHWISE_CONV_2D: filter levels +-127
 * (level 0 for a = 0) at scale |a| / 127 per channel, b as the int32 bias.
 * A layer, unlike MUL and ADD, adds an int32 bias before its one
 * requantization, so the simulation can be given exactly what TFLite adds
 * (the writer records the effective b; alignBiasesToTflite writes it into
 * the Add's constant): the file then computes the simulation's levels.
 */
function affine(w: TfliteWriter, x: Value, a: Float64Array, b: Float64Array | undefined, out: Node): void {
  const xs = w.slot(x, out);
  rank4(w, out, xs);
  const channels = xs.shape[3];
  const levels = new Int8Array(channels);
  const scale: number[] = [];
  for (let c = 0; c < channels; c++) {
    levels[c] = a[c] > 0 ? 127 : a[c] < 0 ? -127 : 0;
    scale.push(a[c] === 0 ? 1 : Math.fround(Math.abs(a[c]) / 127));
  }
  const filter: Filter = { shape: [1, 1, 1, channels], levels, scale, axis: 3, fitsInt4: false };
  const y = out.outputs[0];
  const grid = w.outputGrid(out, y);
  const bias = biasOfValues(out, b ?? new Float64Array(channels), xs.grid.scale, filter, w.target, grid.scale, 'conv', undefined, true);
  if (b) w.affineBiases.set(out, bias);
  w.symmetricRounding(out, y, scale.map((sw) => layerMultiplier(xs.grid.scale, sw, grid.scale, 'conv')), grid.scale);
  const biasIndex = w.addTensor({
    name: `${out.name}/bias`, shape: [channels], type: 'INT32', data: bias.values,
    quantization: { scale: bias.scale, zeroPoint: bias.scale.map(() => 0), quantizedDimension: 0 },
  });
  const filterIndex = filterTensor(w, `${out.name}/scale`, filter);
  const o = F.DepthwiseConv2DOptions;
  w.produce(out, y, grid, {
    op: 'DEPTHWISE_CONV_2D', inputs: [xs.index, filterIndex, biasIndex],
    options: [[o.padding, 'i8', Padding.VALID], [o.strideW, 'i32', 1], [o.strideH, 'i32', 1], [o.depthMultiplier, 'i32', 1],
      [o.activation, 'i8', Activation.NONE], [o.dilationW, 'i32', 1], [o.dilationH, 'i32', 1]],
  }, o.activation);
}

function channelsOf(w: TfliteWriter, n: Node, v: Value): number {
  const c = v.type?.shape?.[1];
  if (v.type?.shape?.length !== 4 || typeof c !== 'number') {
    throw tfliteError(w.target, n, v, 'an elementwise op with a constant is written for rank-4 activations with a known channel count only', 'give the model static shapes');
  }
  return c;
}

function constantValues(w: TfliteWriter, n: Node, constant: Value, channels: number): Float64Array {
  const values = perChannelConstant(constant, channels);
  if (!values) {
    throw tfliteError(w.target, n, constant, `the constant operand (shape [${constantTensor(constant)!.shape.join(', ')}]) is not one value per channel`,
      'only scalar or per-channel constants are written (as a 1x1 depthwise convolution)');
  }
  return values;
}

/** Add: of two activations ADD; of a constant (alone, or after the Mul of an affine pair) a 1x1 DEPTHWISE_CONV_2D. */
const addOp: Emitter = (w, n) => {
  const k = constantOperand(n);
  if (!k) return add(w, n);
  const x = n.inputs[k.data]!;
  const channels = channelsOf(w, n, x);
  const b = constantValues(w, n, k.constant, channels);
  const mul = x.producer;
  if (mul && affinePairOf(mul) === n) {
    const m = constantOperand(mul)!;
    affine(w, mul.inputs[m.data]!, constantValues(w, mul, m.constant, channels), b, n);
    return;
  }
  affine(w, x, new Float64Array(channels).fill(1), b, n);
};

/** Mul: hard-swish, the first half of an affine pair (written by its Add), a constant scale, or MUL of two activations. */
const mulOp: Emitter = (w, n) => {
  const gate = n.inputs.find((v) => v?.producer && isHardSwishGate(v.producer));
  if (gate) {
    const x = w.slot(gate.producer!.inputs[0], n);
    const y = n.outputs[0];
    const grid = w.outputGrid(n, y);
    if (w.options.hardSwish === 'kernel') w.produce(n, y, grid, { op: 'HARD_SWISH', inputs: [x.index] });
    else levelTable(w, n, x, grid, hardSwishLevel(x.grid, grid, gate.producer!.getFloat('alpha', 1 / 6)));
    return;
  }
  const k = constantOperand(n);
  if (k) {
    if (affinePairOf(n)) return;
    const x = n.inputs[k.data]!;
    const channels = channelsOf(w, n, x);
    affine(w, x, constantValues(w, n, k.constant, channels), undefined, n);
    return;
  }
  const [a, b] = [w.slot(n.inputs[0], n), w.slot(n.inputs[1], n)];
  const y = n.outputs[0];
  const grid = w.outputGrid(n, y);
  // TFLite's int8 MUL: (q1 - z1)(q2 - z2) requantized once by s1 s2 / s_out, formed in float32 (mul.cc), rounding symmetrically.
  w.symmetricRounding(n, y, [Math.fround(Math.fround(a.grid.scale) * Math.fround(b.grid.scale)) / Math.fround(grid.scale)], grid.scale);
  w.produce(n, y, grid, { op: 'MUL', inputs: [a.index, b.index], options: [[F.ArithmeticOptions.activation, 'i8', Activation.NONE]] }, F.ArithmeticOptions.activation);
};

/**
 * The level the simulation computes for each int8 input level of
 * x * HardSigmoid(x) (onnxruntime: float32 DequantizeLinear, alpha x +
 * beta, clamp, product, then QuantizeLinear's division, rounding half to
 * even, and the grid's clamp).
 */
function hardSwishLevel(input: Grid, output: Grid, alpha: number): (q: number) => number {
  const [si, so, a] = [Math.fround(input.scale), Math.fround(output.scale), Math.fround(alpha)];
  return (q) => {
    const x = Math.fround((q - input.zeroPoint) * si);
    const gate = Math.min(1, Math.max(0, Math.fround(Math.fround(a * x) + 0.5)));
    const level = roundHalfEven(Math.fround(Math.fround(x * gate) / so)) + output.zeroPoint;
    return Math.min(output.qmax, Math.max(output.qmin, level));
  };
}

/**
 * A function of one int8 input level as a table (what an int8 unary op
 * computes, exactly as the simulation does): CAST to int32, ADD 128,
 * GATHER from the 256 output levels, stored as an int8 constant on the
 * output's grid. TFLite's own HARD_SWISH (option hardSwish: 'kernel')
 * approximates in 16-bit fixed point and misses the simulation's level on
 * a few input levels, which this network's later layers amplify.
 */
function levelTable(w: TfliteWriter, n: Node, x: { index: number; shape: number[] }, grid: Grid, level: (q: number) => number): void {
  const y = n.outputs[0];
  const { shape, batchFree } = w.fileShape(y, n);
  const signature = batchFree ? { shapeSignature: [-1, ...shape.slice(1)] } : {};
  const table = Int8Array.from({ length: 256 }, (_, i) => level(i - 128));
  const values = w.addTensor({ name: `${n.name}/levels`, shape: [256], type: 'INT8', data: table, quantization: { scale: [grid.scale], zeroPoint: [grid.zeroPoint] } });
  const wide = w.addTensor({ name: `${n.name}/int32`, shape, type: 'INT32', ...signature });
  w.operators.push({ op: 'CAST', inputs: [x.index], outputs: [wide] });
  const index = w.addTensor({ name: `${n.name}/index`, shape, type: 'INT32', ...signature });
  w.operators.push({ op: 'ADD', inputs: [wide, w.int32(`${n.name}/offset`, [128], [1])], outputs: [index], options: [[F.ArithmeticOptions.activation, 'i8', Activation.NONE]] });
  w.produce(n, y, grid, { op: 'GATHER', inputs: [values, index], options: [[F.GatherOptions.axis, 'i32', 0], [F.GatherOptions.batchDims, 'i32', 0]] }, undefined, false);
}

/** The HardSigmoid of a hard-swish is computed by the Mul's HARD_SWISH; any other has no int8 TFLite kernel. */
const hardSigmoid: Emitter = (w, n) => {
  if (isHardSwishGate(n)) return;
  throw tfliteError(w.target, n, n.outputs[0], 'HardSigmoid outside x * HardSigmoid(x) (hard-swish) has no int8 TFLite kernel',
    'a HardSigmoid right after a Conv folds into it as Clip(0, 1) (the tflite target\'s fold-affine pass); others stay for target sim or ort');
};

/** The grid TFLite's int8 LOGISTIC writes: scale 1/256, zero point -128 (its kernel checks both). */
export const LOGISTIC_GRID = { scale: 1 / 256, zeroPoint: -128 } as const;

const sigmoid: Emitter = (w, n) => {
  const x = w.slot(n.inputs[0], n);
  const y = n.outputs[0];
  const grid: Grid = w.outputGrid(n, y);
  if (grid.scale !== LOGISTIC_GRID.scale || grid.zeroPoint !== LOGISTIC_GRID.zeroPoint || grid.qmin !== -128 || grid.qmax !== 127) {
    throw tfliteError(w.target, n, y, `the output grid (scale ${grid.scale}, zero point ${grid.zeroPoint}, ${grid.bits} bits) is not LOGISTIC's (scale 1/256, zero point -128, 8 bits)`,
      'quantize with the target\'s plan: its tflite-grids pass puts every Sigmoid output on that grid');
  }
  w.produce(n, y, grid, { op: 'LOGISTIC', inputs: [x.index] });
};

export const ELEMENTWISE_EMITTERS: Readonly<Record<string, Emitter>> = { Add: addOp, Mul: mulOp, HardSigmoid: hardSigmoid, Sigmoid: sigmoid };
