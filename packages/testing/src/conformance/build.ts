import { attr, createModel, Graph, type Model, type QuantAnnotation, Tensor, type Value } from '@nibble/ir';
import { lowerToQdq } from '@nibble/onnx';
import { runFloat64 } from '../float64-reference';
import type { ConformanceCase, Grid } from './cases';

/** A case made concrete: the annotated model, its QDQ lowering, the float feed holding the integer inputs, and the expected output codes. */
export interface BuiltCase {
  annotated: Model;
  qdq: Model;
  feed: Tensor;
  /** The output's grid and the expected integer codes (from runFloat64), [N, ...]. */
  output: QuantAnnotation;
  expectedCodes: Int32Array;
  expectedValues: Float64Array;
}

function rng(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

const f32 = Math.fround;
const rint = (x: number): number => {
  const f = Math.floor(x);
  const d = x - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
};

/** An unsigned grid per channel covering [lo[c], hi[c]] at the given widths (0 < bits <= 8). */
function gridOf(g: Grid, channels: number, lo: number[], hi: number[], axis: number | null): QuantAnnotation {
  const n = axis === null ? 1 : channels;
  const bits = Int32Array.from({ length: n }, (_, c) => (Array.isArray(g.bits) ? g.bits[c] : g.bits));
  const scale = new Float64Array(n);
  const zeroPoint = new Int32Array(n);
  const rlo = new Float64Array(n);
  const rhi = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    const qmax = 2 ** bits[c] - 1;
    const l = Math.min(0, lo[c]);
    const h = Math.max(l + 1e-3, hi[c], 0);
    scale[c] = f32((h - l) / qmax);
    zeroPoint[c] = Math.min(qmax, Math.max(0, Math.round(-l / scale[c])));
    rlo[c] = f32(-zeroPoint[c] * scale[c]) || 0;
    rhi[c] = f32((qmax - zeroPoint[c]) * scale[c]);
  }
  return { axis, bits, scale, zeroPoint, signed: false, range: { lo: rlo, hi: rhi } };
}

/** Integer weight levels and their DequantizeLinear (plus the bias-correction Add). */
function addWeight(g: Graph, c: ConformanceCase, rand: () => number, axis: number, shiftShape: number[]): Value {
  const { shape, bits, biasCorrection } = c.weight!;
  const O = shape[axis];
  const size = shape.reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const half = 2 ** (bits - 1);
  const q = Array.from({ length: size }, () => Math.floor(rand() * 2 * half) - half);
  const zp = Array.from({ length: O }, () => Math.floor(rand() * 3) - 1);
  const s = Array.from({ length: O }, () => f32(0.02 + 0.1 * rand()));
  for (let i = 0; i < size; i++) {
    const o = Math.floor(i / inner) % O;
    q[i] = Math.max(-half, Math.min(half - 1, q[i]));
    void o;
  }
  const dtype = bits <= 4 ? 'int4' : 'int8';
  const dq = g.addNode({
    opType: 'DequantizeLinear', name: 'w_dequantize', outputs: ['w'], attributes: { axis: attr.int(axis) },
    inputs: [g.addInitializer('w_quantized', Tensor.from(dtype, shape, q)), g.addInitializer('w_scale', Tensor.from('float32', [O], s)), g.addInitializer('w_zero_point', Tensor.from(dtype, [O], zp))],
  });
  if (!biasCorrection) return dq.outputs[0];
  const shift = Array.from({ length: O }, () => f32((rand() - 0.5) * 0.03));
  return g.addNode({ opType: 'Add', name: 'w_bias_correct', inputs: [dq.outputs[0], g.addInitializer('w_shift', Tensor.from('float32', shiftShape, shift))], outputs: ['w_corrected'] }).outputs[0];
}

function attributes(c: ConformanceCase): Record<string, ReturnType<typeof attr.int>> {
  const out: Record<string, ReturnType<typeof attr.int>> = {};
  for (const [k, v] of Object.entries(c.attributes ?? {})) out[k] = Array.isArray(v) ? attr.ints(v) : attr.int(v);
  return out;
}

/** Build the case's graph: x [-> grid] -> op -> y, with y not yet annotated. */
function buildGraph(c: ConformanceCase, rand: () => number): { g: Graph; x: Value; y: Value } {
  const g = new Graph('conformance');
  const batch = c.batch ?? 1;
  const x = g.addInput('x', { dtype: 'float32', shape: [batch, ...c.input] });
  let y: Value;
  switch (c.op) {
    case 'Conv': {
      const w = addWeight(g, c, rand, 0, [c.weight!.shape[0], 1, 1, 1]);
      const inputs: Value[] = [x, w];
      if (c.bias) inputs.push(g.addInitializer('b', Tensor.from('float32', [c.weight!.shape[0]], Array.from({ length: c.weight!.shape[0] }, () => f32(rand() - 0.5)))));
      y = g.addNode({ opType: 'Conv', name: 'op', inputs, outputs: ['y'], attributes: attributes(c) }).outputs[0];
      break;
    }
    case 'Gemm': {
      const transB = c.attributes?.transB === 1;
      const N = transB ? c.weight!.shape[0] : c.weight!.shape[1];
      const w = addWeight(g, c, rand, transB ? 0 : 1, transB ? [N, 1] : [1, N]);
      const inputs: Value[] = [x, w];
      if (c.bias) inputs.push(g.addInitializer('b', Tensor.from('float32', [N], Array.from({ length: N }, () => f32(rand() - 0.5)))));
      y = g.addNode({ opType: 'Gemm', name: 'op', inputs, outputs: ['y'], attributes: attributes(c) }).outputs[0];
      break;
    }
    case 'Add': {
      const r = g.addNode({ opType: 'Relu', name: 'relu', inputs: [x], outputs: ['r'] }).outputs[0];
      y = g.addNode({ opType: 'Add', name: 'op', inputs: [x, r], outputs: ['y'] }).outputs[0];
      break;
    }
    case 'Clip': {
      const [lo, hi] = c.clip!;
      const inputs = [x, g.addInitializer('clip_min', Tensor.scalar('float32', lo)), g.addInitializer('clip_max', Tensor.scalar('float32', hi))];
      y = g.addNode({ opType: 'Clip', name: 'op', inputs, outputs: ['y'] }).outputs[0];
      break;
    }
    default:
      y = g.addNode({ opType: c.op, name: 'op', inputs: [x], outputs: ['y'], attributes: attributes(c) }).outputs[0];
  }
  g.addOutput(y);
  return { g, x, y };
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

export function buildCase(c: ConformanceCase): BuiltCase {
  const rand = rng(c.seed);
  const { g, x, y } = buildGraph(c, rand);
  const batch = c.batch ?? 1;
  const shape = [batch, ...c.input];
  const C = c.input[0];
  const feedValues = new Float32Array(size(shape));
  if (c.inputGrid) {
    const perChannel = c.inputGrid.perChannel ?? true;
    const lo = Array.from({ length: C }, () => (c.inputGrid!.oneSided ? 0 : -0.2 - rand()));
    const hi = Array.from({ length: C }, () => 0.5 + 1.5 * rand());
    const grid = gridOf(c.inputGrid, C, lo, hi, perChannel ? 1 : null);
    x.quant = grid;
    const inner = size(c.input.slice(1));
    for (let i = 0; i < feedValues.length; i++) {
      const ch = perChannel ? Math.floor(i / inner) % C : 0;
      const qmax = 2 ** grid.bits![ch] - 1;
      const q = Math.floor(rand() * (qmax + 1));
      feedValues[i] = f32((q - grid.zeroPoint![ch]) * grid.scale![ch]);
    }
  } else {
    for (let i = 0; i < feedValues.length; i++) feedValues[i] = f32(rand() * 2 - 1);
  }
  const feed = Tensor.from('float32', shape, feedValues);
  // The output grid spans what the op produces on these inputs (min/max per channel), as calibration would.
  const plain = runFloat64(g, { x: { shape, data: Float64Array.from(feedValues) } });
  const yv = plain.y;
  const outGrid = c.outputGrid ?? { bits: 4 };
  const perChannel = (outGrid.perChannel ?? true) && yv.shape.length > 1;
  const OC = perChannel ? yv.shape[1] : 1;
  const inner = perChannel ? size(yv.shape.slice(2)) : yv.data.length;
  const lo = new Array<number>(OC).fill(Infinity);
  const hi = new Array<number>(OC).fill(-Infinity);
  yv.data.forEach((v, i) => {
    const ch = perChannel ? Math.floor(i / inner) % OC : 0;
    lo[ch] = Math.min(lo[ch], v);
    hi[ch] = Math.max(hi[ch], v);
  });
  y.quant = gridOf(outGrid, OC, lo, hi, perChannel ? 1 : null);
  y.type = { dtype: 'float32', shape: yv.shape };
  const annotated = createModel(g, 21, 10);
  const ref = runFloat64(g, { x: { shape, data: Float64Array.from(feedValues) } }).y;
  const q = y.quant;
  const expectedCodes = Int32Array.from(ref.data, (v, i) => {
    const ch = perChannel ? Math.floor(i / inner) % OC : 0;
    return rint(v / q.scale![ch]) + q.zeroPoint![ch];
  });
  return { annotated, qdq: lowerToQdq(annotated), feed, output: q, expectedCodes, expectedValues: ref.data };
}

/** Codes of float32 output values on the case's output grid. */
export function codesOf(values: Float64Array, shape: readonly number[], q: QuantAnnotation): Int32Array {
  const perChannel = q.axis !== null;
  const OC = perChannel ? shape[1] : 1;
  const inner = perChannel ? size(shape.slice(2)) : values.length;
  return Int32Array.from(values, (v, i) => {
    const ch = perChannel ? Math.floor(i / inner) % OC : 0;
    return Math.round(v / q.scale![ch]) + q.zeroPoint![ch];
  });
}
