import { isNibbleError, type Model, parseGraph, SeededRandom, Tensor, createModel } from '@nibble/ir';
import { lowerToQdq } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import type { CalibrationData } from '@nibble/stats';
import { alignBiasesToTflite, decodeConstant, parseTfliteFile, withBatch, writeTflite } from '@nibble/tflite';
import { describeWithTfliteRef, runTfliteRef } from '@nibble/testing';
import { checkQuantizedOutput, planQuantization } from './plan';
import { quantize } from './quantize';
import { getTarget } from './targets';

/*
 * The tflite targets' writer, op kind by op kind: small float graphs
 * quantized under the target's constraints, written as full-integer
 * TFLite, run by TFLite 2.9 itself (tools/tflite-ref) and compared with the
 * simulation of the same constrained scheme (its QDQ lowering in
 * onnxruntime, Q/DQ run exactly). TFLite requantizes with a fixed-point
 * multiplier that rounds twice, which adds 2^30/M accumulator units before
 * one rounding (@nibble/tflite requant.ts); the writer rounds each int32
 * bias net of that offset and the target's last pass (tflite-bias) gives
 * the simulation the bias TFLite then adds, so the two compute the same
 * levels: any element off is a bug.
 */

jest.setTimeout(60_000);

const N = 4;
const rand = new SeededRandom(11);
const vals = (n: number, scale: number, offset = 0): string => Array.from({ length: n }, () => (offset + scale * (rand.uniform() * 2 - 1)).toFixed(4)).join(', ');

function inputs(shape: number[], seed: number): Tensor {
  const r = new SeededRandom(seed);
  return Tensor.from('float32', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.uniform()));
}

function calibration(shape: number[]): CalibrationData {
  const x = inputs([32, ...shape.slice(1)], 3);
  return { samples: 32, description: 'synthetic', async *batches() { yield { x }; } };
}

/** NCHW -> NHWC values of a rank-4 tensor (the file's layout). */
function nhwc(t: Tensor): Float32Array {
  const [n, c, h, w] = t.shape as number[];
  const d = t.toFloat64();
  const out = new Float32Array(d.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out[(i * h * w + p) * c + k] = d[(i * c + k) * h * w + p];
  return out;
}

/** The TFLite file's output (TFLite 2.9) and the simulation's, with the output grid's scale. */
async function both(q: Model, bytes: Uint8Array, x: Tensor): Promise<{ tflite: Float32Array; sim: Float64Array; step: number }> {
  const [r] = runTfliteRef([{ model: bytes, inputs: [{ shape: [N, ...[2, 3, 1].map((a) => x.shape[a] as number)], data: nhwc(x) }] }]);
  if (typeof r === 'string') throw new Error(r);
  const ex = await createOrtExecutor(lowerToQdq(q), { exactQdq: true });
  try {
    const sim = (await ex.run({ x }))[ex.outputNames[0]].toFloat64();
    const file = parseTfliteFile(bytes);
    const sg = file.subgraphs[0];
    const dq = sg.operators.find((o) => o.code.name === 'DEQUANTIZE' && o.outputs[0] === sg.outputs[0])!;
    return { tflite: r[0].data, sim, step: sg.tensors[dq.inputs[0]].quantization!.scale[0] };
  } finally {
    await ex.dispose();
  }
}

interface Case {
  name: string;
  ops: string[];
  graph: string;
  pipeline?: string;
}

const CASES: Case[] = [
  {
    name: 'CONV_2D with SAME padding and fused RELU (4-bit grid kept by MINIMUM), explicit PAD in front of a stride-2 conv',
    ops: ['QUANTIZE', 'CONV_2D', 'MINIMUM', 'PAD', 'DEQUANTIZE'],
    graph: `graph g(%x : f32[N,3,8,8]) {
      %w1 : f32[8,3,3,3] = const [${vals(216, 0.4)}]
      %b1 : f32[8] = const [${vals(8, 0.1)}]
      %w2 : f32[6,8,3,3] = const [${vals(432, 0.3)}]
      %b2 : f32[6] = const [${vals(6, 0.1)}]
      %c1 : f32[N,8,8,8] = Conv(%x, %w1, %b1) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv1
      %r1 : f32[N,8,8,8] = Relu(%c1) @relu1
      %y : f32[N,6,4,4] = Conv(%r1, %w2, %b2) {kernel_shape=[3,3], pads=[1,1,1,1], strides=[2,2]} @conv2
      return %y
    }`,
  },
  {
    name: 'DEPTHWISE_CONV_2D (quantized_dimension 3) between ReLU6 clips',
    ops: ['CONV_2D', 'DEPTHWISE_CONV_2D'],
    graph: `graph g(%x : f32[N,4,8,8]) {
      %w1 : f32[8,4,1,1] = const [${vals(32, 0.5)}]
      %w2 : f32[8,1,3,3] = const [${vals(72, 0.5)}]
      %b2 : f32[8] = const [${vals(8, 0.2)}]
      %w3 : f32[5,8,1,1] = const [${vals(40, 0.4)}]
      %zero : f32[] = const [0]
      %six : f32[] = const [6]
      %c1 : f32[N,8,8,8] = Conv(%x, %w1) {kernel_shape=[1,1]} @expand
      %r1 : f32[N,8,8,8] = Clip(%c1, %zero, %six) @relu6a
      %c2 : f32[N,8,8,8] = Conv(%r1, %w2, %b2) {kernel_shape=[3,3], pads=[1,1,1,1], group=8} @dw
      %r2 : f32[N,8,8,8] = Clip(%c2, %zero, %six) @relu6b
      %y : f32[N,5,8,8] = Conv(%r2, %w3) {kernel_shape=[1,1]} @project
      return %y
    }`,
  },
  {
    name: 'ADD of a residual, MAX_POOL_2D keeping its input\'s grid',
    ops: ['ADD', 'MAX_POOL_2D'],
    graph: `graph g(%x : f32[N,3,8,8]) {
      %w1 : f32[6,3,3,3] = const [${vals(162, 0.4)}]
      %w2 : f32[6,6,3,3] = const [${vals(324, 0.3)}]
      %w3 : f32[4,6,1,1] = const [${vals(24, 0.5)}]
      %c1 : f32[N,6,8,8] = Conv(%x, %w1) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv1
      %r1 : f32[N,6,8,8] = Relu(%c1) @relu1
      %p : f32[N,6,4,4] = MaxPool(%r1) {kernel_shape=[2,2], strides=[2,2]} @pool
      %c2 : f32[N,6,4,4] = Conv(%p, %w2) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv2
      %s : f32[N,6,4,4] = Add(%c2, %p) @residual
      %r2 : f32[N,6,4,4] = Relu(%s) @relu2
      %y : f32[N,4,4,4] = Conv(%r2, %w3) {kernel_shape=[1,1]} @conv3
      return %y
    }`,
  },
  {
    name: 'MEAN (global average pooling), RESHAPE and a per-channel fully connected layer (1x1 CONV_2D)',
    ops: ['MEAN', 'RESHAPE', 'CONV_2D'],
    graph: `graph g(%x : f32[N,3,8,8]) {
      %w1 : f32[8,3,3,3] = const [${vals(216, 0.4)}]
      %fw : f32[5,8] = const [${vals(40, 0.6)}]
      %fb : f32[5] = const [${vals(5, 0.2)}]
      %c1 : f32[N,8,8,8] = Conv(%x, %w1) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv1
      %r1 : f32[N,8,8,8] = Relu(%c1) @relu1
      %g : f32[N,8,1,1] = GlobalAveragePool(%r1) @gap
      %f : f32[N,8] = Flatten(%g) {axis=1} @flatten
      %y : f32[N,5] = Gemm(%f, %fw, %fb) {transB=1} @fc
      return %y
    }`,
  },
  {
    name: 'FULLY_CONNECTED with per-tensor filters after a Flatten that TRANSPOSEs NHWC back to NCHW order',
    ops: ['TRANSPOSE', 'RESHAPE', 'FULLY_CONNECTED'],
    pipeline: 'mark-fused-relu,quant-policy{w-bits=4,a-bits=4,per-channel-weights=false},clip-minmax,quantize',
    graph: `graph g(%x : f32[N,3,4,4]) {
      %w1 : f32[4,3,3,3] = const [${vals(108, 0.4)}]
      %fw : f32[64,5] = const [${vals(320, 0.3)}]
      %c1 : f32[N,4,4,4] = Conv(%x, %w1) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv1
      %r1 : f32[N,4,4,4] = Relu(%c1) @relu1
      %f : f32[N,64] = Flatten(%r1) {axis=1} @flatten
      %y : f32[N,5] = Gemm(%f, %fw) @fc
      return %y
    }`,
  },
  {
    name: 'CONCATENATION of values on one grid, and an explicit zero Pad',
    ops: ['CONCATENATION', 'PAD'],
    graph: `graph g(%x : f32[N,3,8,8]) {
      %w1 : f32[4,3,3,3] = const [${vals(108, 0.4)}]
      %w2 : f32[3,8,3,3] = const [${vals(216, 0.3)}]
      %pads : i64[8] = const [0, 0, 1, 1, 0, 0, 1, 1]
      %c1 : f32[N,4,8,8] = Conv(%x, %w1) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv1
      %r1 : f32[N,4,8,8] = Relu(%c1) @relu1
      %p1 : f32[N,4,4,4] = MaxPool(%r1) {kernel_shape=[2,2], strides=[2,2]} @pool_a
      %p2 : f32[N,4,4,4] = MaxPool(%r1) {kernel_shape=[3,3], strides=[2,2], pads=[0,0,1,1]} @pool_b
      %cat : f32[N,8,4,4] = Concat(%p1, %p2) {axis=1} @concat
      %pad : f32[N,8,6,6] = Pad(%cat, %pads) @pad
      %y : f32[N,3,4,4] = Conv(%pad, %w2) {kernel_shape=[3,3]} @conv2
      return %y
    }`,
  },
  {
    // Without mark-fused-relu the conv's grid is two-sided and quant-policy gives the ReLU's output a grid of its own
    // (the next conv's input): the writer kept the conv's grid there (8 % of the outputs off), now it requantizes.
    name: 'MAXIMUM for a ReLU after a two-sided grid, then QUANTIZE into the grid the IR gives the ReLU\'s output',
    ops: ['MAXIMUM', 'QUANTIZE'],
    pipeline: 'quant-policy{w-bits=4,a-bits=4},clip-minmax,quantize',
    graph: `graph g(%x : f32[N,3,8,8]) {
      %w1 : f32[8,3,3,3] = const [${vals(216, 0.5)}]
      %b1 : f32[8] = const [${vals(8, 0.2)}]
      %w2 : f32[5,8,1,1] = const [${vals(40, 0.5)}]
      %c1 : f32[N,8,8,8] = Conv(%x, %w1, %b1) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv1
      %r1 : f32[N,8,8,8] = Relu(%c1) @relu1
      %y : f32[N,5,8,8] = Conv(%r1, %w2) {kernel_shape=[1,1]} @conv2
      return %y
    }`,
  },
];

const PIPELINE = 'mark-fused-relu,quant-policy{w-bits=4,a-bits=4},clip-minmax,quantize';

function shapeOf(graph: string): number[] {
  const m = /%x : f32\[N,(\d+),(\d+),(\d+)\]/.exec(graph)!;
  return [N, Number(m[1]), Number(m[2]), Number(m[3])];
}

describeWithTfliteRef('tflite target: each op kind against TFLite 2.9 and the simulation', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const shape = shapeOf(c.graph);
      const model = createModel(parseGraph(c.graph), 21, 10);
      const q = await quantize(model, { pipeline: c.pipeline ?? PIPELINE, data: calibration(shape), target: 'tflite' });
      const ops = new Set(parseTfliteFile(q.onnx).subgraphs[0].operators.map((o) => o.code.name));
      for (const op of c.ops) expect(ops).toContain(op);
      const bytes = writeTflite(q.model, { batch: N });
      const { tflite, sim, step } = await both(q.model, bytes, inputs(shape, 7));
      const flat = outputRank4(c.graph) ? nhwcOf(sim, c.graph) : sim;
      expect(levelsOff(tflite, flat, step)).toBe(0);
    });
  }

  it('a batch-free file re-stated for batch 4 (withBatch) computes what the file written at batch 4 computes', async () => {
    const c = CASES[3];
    const shape = shapeOf(c.graph);
    const q = await quantize(createModel(parseGraph(c.graph), 21, 10), { pipeline: PIPELINE, data: calibration(shape), target: 'tflite' });
    const x = inputs(shape, 9);
    const feed = { shape: [N, shape[2], shape[3], shape[1]], data: nhwc(x) };
    const [a, b] = runTfliteRef([{ model: withBatch(q.onnx, N), inputs: [feed] }, { model: writeTflite(q.model, { batch: N }), inputs: [feed] }]);
    if (typeof a === 'string' || typeof b === 'string') throw new Error(String(typeof a === 'string' ? a : b));
    expect(a[0].shape).toEqual([N, 5]);
    expect(Array.from(a[0].data)).toEqual(Array.from(b[0].data));
  });
});

/** Elements of the file's output more than a hundredth of a level away from the simulation's. */
function levelsOff(tflite: Float32Array, sim: Float64Array, step: number): number {
  let off = 0;
  for (let i = 0; i < sim.length; i++) if (Math.abs(tflite[i] - sim[i]) >= 0.01 * step) off++;
  return off;
}

describeWithTfliteRef('tflite target: the simulation computes TFLite\'s requantization (tflite-bias)', () => {
  // A residual block whose 4-bit outputs give TFLite multipliers s_in * s_w / s_out of 0.05 to 0.5 (right shifts of 1 to 4),
  // where its two-step rounding and the int32 rounding of the bias move outputs by a level.
  const graph = `graph g(%x : f32[N,3,8,8]) {
      %w1 : f32[8,3,3,3] = const [${vals(216, 0.5)}]
      %b1 : f32[8] = const [${vals(8, 0.3)}]
      %w2 : f32[8,8,3,3] = const [${vals(576, 0.3)}]
      %b2 : f32[8] = const [${vals(8, 0.3)}]
      %w3 : f32[8,1,3,3] = const [${vals(72, 0.6)}]
      %w4 : f32[6,8,1,1] = const [${vals(48, 0.5)}]
      %c1 : f32[N,8,8,8] = Conv(%x, %w1, %b1) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv1
      %r1 : f32[N,8,8,8] = Relu(%c1) @relu1
      %c2 : f32[N,8,8,8] = Conv(%r1, %w2, %b2) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv2
      %s : f32[N,8,8,8] = Add(%c2, %r1) @residual
      %r2 : f32[N,8,8,8] = Relu(%s) @relu2
      %c3 : f32[N,8,8,8] = Conv(%r2, %w3) {kernel_shape=[3,3], pads=[1,1,1,1], group=8} @dw
      %r3 : f32[N,8,8,8] = Relu(%c3) @relu3
      %y : f32[N,6,8,8] = Conv(%r3, %w4) {kernel_shape=[1,1]} @project
      return %y
    }`;
  const shape = shapeOf(graph);
  // PIPELINE with the tflite target's constraints spelled out, for target sim: no tflite-bias at the end.
  const PLAIN = 'mark-fused-relu,quant-policy{w-bits=4,a-bits=4,per-channel-activations=false,integer-inputs=true,pools=false},clip-minmax,quantize{symmetric-weights=true}';

  it('TFLite 2.9 gives the simulation\'s levels exactly; without tflite-bias the simulation is a level off on many elements', async () => {
    const model = createModel(parseGraph(graph), 21, 10);
    const q = await quantize(model, { pipeline: PIPELINE, data: calibration(shape), target: 'tflite' });
    expect(q.report.pipeline).toMatch(/,tflite-bias$/);
    const x = inputs(shape, 5);
    const bytes = writeTflite(q.model, { batch: N });
    const aligned = await both(q.model, bytes, x);
    expect(levelsOff(aligned.tflite, nhwcOf(aligned.sim, graph), aligned.step)).toBe(0);
    // The same scheme without the last pass: the IR keeps the float biases bias-correct left (what the simulation computed
    // before tflite-bias). The file is the same (the writer rounds the biases net of TFLite's offset either way).
    const plain = await quantize(model, { pipeline: PLAIN, data: calibration(shape) });
    const file = writeTflite(plain.model, { batch: N });
    expect(Buffer.compare(Buffer.from(file), Buffer.from(bytes))).toBe(0);
    const before = await both(plain.model, file, x);
    const off = levelsOff(before.tflite, nhwcOf(before.sim, graph), before.step);
    expect(off / before.sim.length).toBeGreaterThan(0.01);
    // Aligning that IR's biases (what the pass does) makes its simulation TFLite's again.
    alignBiasesToTflite(plain.model.graph);
    const after = await both(plain.model, file, x);
    expect(levelsOff(after.tflite, nhwcOf(after.sim, graph), after.step)).toBe(0);
  });
});

function outputRank4(graph: string): boolean {
  return /%y : f32\[N,\d+,\d+,\d+\]/.test(graph);
}

/** The simulation's NCHW output in NHWC order (the file's rank-4 outputs are NHWC). */
function nhwcOf(sim: Float64Array, graph: string): Float64Array {
  const m = /%y : f32\[N,(\d+),(\d+),(\d+)\]/.exec(graph)!;
  return Float64Array.from(nhwc(new Tensor('float32', [N, Number(m[1]), Number(m[2]), Number(m[3])], Float32Array.from(sim))));
}

describe('tflite target: what it cannot express is an error naming the node', () => {
  const shape = [N, 3, 8, 8];
  const base = (tail: string, out: string) => createModel(parseGraph(`graph g(%x : f32[N,3,8,8]) {
      %w1 : f32[4,3,3,3] = const [${vals(108, 0.4)}]
      %c1 : f32[N,4,8,8] = Conv(%x, %w1) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv1
      ${tail}
      return ${out}
    }`), 21, 10);
  const refusal = async (run: () => Promise<unknown>): Promise<{ code: string; message: string; node?: string }> => {
    try {
      await run();
    } catch (e) {
      if (!isNibbleError(e)) throw e;
      return { code: e.code, message: e.message, node: e.place.node };
    }
    throw new Error('expected a refusal');
  };

  it('an op without an int8 TFLite form (Tanh) is E_UNSUPPORTED_OP naming the node', async () => {
    const model = base('%s : f32[N,4,8,8] = Tanh(%c1) @gate', '%s');
    const e = await refusal(() => quantize(model, { pipeline: PIPELINE, data: calibration(shape), target: 'tflite' }));
    expect(e).toMatchObject({ code: 'E_UNSUPPORTED_OP', node: 'gate' });
    expect(e.message).toMatch(/node 'gate' \(Tanh\) has no int8 TFLite form/);
  });

  it('per-channel activation scales (an IR quantized for sim) are refused naming the node, the value and the constraint', async () => {
    const model = createModel(parseGraph(`graph g(%x : f32[N,3,8,8]) {
      %w1 : f32[4,3,3,3] = const [${vals(108, 0.4)}]
      %w2 : f32[2,4,1,1] = const [${vals(8, 0.4)}]
      %c1 : f32[N,4,8,8] = Conv(%x, %w1) {kernel_shape=[3,3], pads=[1,1,1,1]} @conv1
      %y : f32[N,2,8,8] = Conv(%c1, %w2) {kernel_shape=[1,1]} @conv2
      return %y
    }`), 21, 10);
    const sim = await quantize(model, { pipeline: 'quant-policy{integer-inputs=true},clip-minmax,quantize{symmetric-weights=true}', data: calibration(shape) });
    const e = await refusal(async () => getTarget('tflite').write(sim.model));
    expect(e).toMatchObject({ code: 'E_UNSUPPORTED', node: 'conv1' });
    expect(e.message).toMatch(/^target tflite: node 'conv1' \(Conv\), value 'c1': the activation is quantized per channel along axis 1 \(constraint: per-tensor activation scales\)/);
  });

  it('a grouped (not depthwise) convolution is refused naming it', async () => {
    const model = createModel(parseGraph(`graph g(%x : f32[N,4,8,8]) {
      %w1 : f32[4,2,3,3] = const [${vals(72, 0.4)}]
      %y : f32[N,4,8,8] = Conv(%x, %w1) {kernel_shape=[3,3], pads=[1,1,1,1], group=2} @grouped
      return %y
    }`), 21, 10);
    const e = await refusal(() => quantize(model, { pipeline: PIPELINE, data: calibration([N, 4, 8, 8]), target: 'tflite' }));
    expect(e).toMatchObject({ code: 'E_UNSUPPORTED', node: 'grouped' });
    expect(e.message).toMatch(/grouped convolution \(group=2 of 4 channels\)/);
  });

  it('a padded AveragePool that does not count its padding is refused naming it: an equal-weight filter cannot divide by fewer at the borders', async () => {
    const model = createModel(parseGraph(`graph g(%x : f32[N,4,8,8]) {
      %w1 : f32[4,4,1,1] = const [${vals(16, 0.4)}]
      %c1 : f32[N,4,8,8] = Conv(%x, %w1) {kernel_shape=[1,1]} @conv1
      %y : f32[N,4,8,8] = AveragePool(%c1) {kernel_shape=[3,3], pads=[1,1,1,1]} @pool
      return %y
    }`), 21, 10);
    const e = await refusal(() => quantize(model, { pipeline: PIPELINE, data: calibration([N, 4, 8, 8]), target: 'tflite' }));
    expect(e).toMatchObject({ code: 'E_UNSUPPORTED', node: 'pool' });
    expect(e.message).toMatch(/count_include_pad/);
  });
});

describe('tflite files: the reader reads what the writer writes', () => {
  const c = CASES[1];
  const shape = shapeOf(c.graph);

  it('filters, scales, biases and grids round-trip; INT4 filters hold the int8 twin\'s levels, two per byte', async () => {
    const model = createModel(parseGraph(c.graph), 21, 10);
    const q = await quantize(model, { pipeline: PIPELINE, data: calibration(shape), target: 'tflite-int4' });
    const int4 = parseTfliteFile(q.onnx);
    const twin = parseTfliteFile(getTarget('tflite').write(q.model));
    const [a, b] = [int4.subgraphs[0], twin.subgraphs[0]];
    expect(a.tensors.map((t) => t.name)).toEqual(b.tensors.map((t) => t.name));
    let packed = 0;
    for (let i = 0; i < a.tensors.length; i++) {
      const [ta, tb] = [a.tensors[i], b.tensors[i]];
      expect(ta.quantization).toEqual(tb.quantization);
      if (ta.type === 'INT4') {
        packed++;
        expect(tb.type).toBe('INT8');
        expect(Array.from(decodeConstant(int4, ta).toFloat64())).toEqual(Array.from(decodeConstant(twin, tb).toFloat64()));
        expect(int4.buffers[ta.buffer].byteLength).toBe(Math.ceil(twin.buffers[tb.buffer].byteLength / 2));
      }
    }
    // expand, dw and project hold 4-bit weights here (the first/last layers' 8-bit weights stay INT8).
    expect(packed).toBeGreaterThanOrEqual(1);
    // The depthwise filter: [1, 3, 3, 8] per channel along axis 3, its levels those of the IR's OIHW weight.
    const dw = b.tensors.find((t) => t.name === 'w2')!;
    expect(dw).toMatchObject({ type: 'INT8', shape: [1, 3, 3, 8] });
    expect(dw.quantization!.quantizedDimension).toBe(3);
    const dq = q.model.graph.nodes.find((n) => n.opType === 'DequantizeLinear' && n.outputs[0].name === 'w2')!;
    const ir = dq.inputs[0]!.const!.toFloat64();
    const file = decodeConstant(twin, dw).toFloat64();
    for (let o = 0; o < 8; o++) for (let k = 0; k < 9; k++) expect(file[k * 8 + o]).toBe(ir[o * 9 + k]);
    expect(dw.quantization!.scale).toEqual(Array.from(dq.inputs[1]!.const!.toFloat64()));
  });

  it('int8 I/O by option: the file\'s input and output are the int8 tensors, without QUANTIZE / DEQUANTIZE', async () => {
    const model = createModel(parseGraph(CASES[3].graph), 21, 10);
    const q = await quantize(model, { pipeline: PIPELINE, data: calibration(shapeOf(CASES[3].graph)), target: 'tflite' });
    const sg = parseTfliteFile(writeTflite(q.model, { io: 'int8' })).subgraphs[0];
    expect([sg.tensors[sg.inputs[0]].type, sg.tensors[sg.outputs[0]].type]).toEqual(['INT8', 'INT8']);
    expect(sg.tensors[sg.inputs[0]].shapeSignature).toEqual([-1, 8, 8, 3]);
    expect(sg.operators.map((o) => o.code.name)).not.toContain('QUANTIZE');
    expect(sg.operators.map((o) => o.code.name)).not.toContain('DEQUANTIZE');
  });

  it('the same model and options give the same bytes', async () => {
    const model = createModel(parseGraph(CASES[0].graph), 21, 10);
    const run = () => quantize(model, { pipeline: PIPELINE, data: calibration(shapeOf(CASES[0].graph)), target: 'tflite' });
    const [first, second] = [await run(), await run()];
    expect(Buffer.compare(Buffer.from(first.onnx), Buffer.from(second.onnx))).toBe(0);
  });
});

describe('tflite targets in the plan', () => {
  it('put their constraints into the pipeline and want a .tflite output path', () => {
    const plan = planQuantization({ recipe: 'w4a4-all', target: 'tflite' });
    expect(plan.pipeline).toContain('per-channel-activations=false,integer-inputs=true,pools=false');
    expect(plan.pipeline).toContain('quantize{symmetric-weights=true}');
    expect(plan.pipeline).toContain('fold=bias,zero-point=false');
    // tflite-bias ends every pipeline of the tflite targets, once, even where the pipeline names it earlier.
    expect(plan.pipeline).toMatch(/,tflite-bias$/);
    const moved = planQuantization({ pipeline: 'quant-policy,tflite-bias,clip-minmax,quantize', target: 'tflite-int4' });
    expect(moved.pipeline.match(/tflite-bias/g)).toHaveLength(1);
    expect(moved.pipeline).toMatch(/quantize\{symmetric-weights=true\},tflite-grids,tflite-bias$/);
    // fold-affine runs once, before mark-fused-relu (or quant-policy where the pipeline has none).
    expect(plan.pipeline).toMatch(/,fold-affine,mark-fused-relu,quant-policy/);
    expect(moved.pipeline).toMatch(/^fold-affine,quant-policy/);
    expect(planQuantization({ recipe: 'w4a4-all', target: 'ort' }).pipeline).not.toContain('tflite-bias');
    expect(() => checkQuantizedOutput('q.onnx', {}, 'tflite-int4')).toThrow(/target tflite-int4 is written as \.tflite/);
    expect(() => checkQuantizedOutput('q.tflite', {}, 'sim')).toThrow(/is written as \.onnx/);
  });
});
