import * as ort from 'onnxruntime-node';
import { attr, createModel, Graph, type Model, type QuantAnnotation, Tensor } from '@nibble/ir';
import { type AffineParams, fakeQuantize, paramsFromRange, SeededRandom } from '@nibble/quant';
import { writeOnnx } from '../write';
import { lowerToQdq } from './lower';

/*
 * lowerToQdq against onnxruntime: the lowered model must compute exactly the
 * fake quantization of @nibble/quant (which its own spec checks bit for bit
 * against onnxruntime's QuantizeLinear/DequantizeLinear), for per-channel
 * grids narrower than their container, 0-bit channels, per-tensor grids,
 * signed containers and weights.
 */

function annotation(p: AffineParams): QuantAnnotation {
  return { axis: p.axis, bits: p.bits, scale: p.scale, zeroPoint: p.zeroPoint, signed: p.signed };
}

async function run(model: Model, feeds: Record<string, Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(writeOnnx(model));
  try {
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor('float32', t.data as Float32Array, [...t.shape])]));
    const out = await session.run(ortFeeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
  } finally {
    await session.release();
  }
}

const SHAPE = [2, 6, 5, 7];

/** x -> Relu -> Add(bias per channel) = 'act' (annotated) -> Identity -> 'y' */
function netWithActivation(p: AffineParams, asOutput = false): Model {
  const g = new Graph('act');
  const x = g.addInput('x', { dtype: 'float32', shape: [...SHAPE] });
  const bias = g.addInitializer('bias', Tensor.from('float32', [SHAPE[1], 1, 1], [0.1, -0.3, 0.2, 0.05, -1, 0.7]));
  const act = g.addNode({ opType: 'Add', name: 'add', inputs: [x, bias], outputs: ['act'] }).outputs[0];
  act.type = { dtype: 'float32', shape: [...SHAPE] };
  act.quant = annotation(p);
  if (asOutput) {
    g.addOutput(act);
  } else {
    const y = g.addNode({ opType: 'Identity', name: 'id', inputs: [act], outputs: ['y'] }).outputs[0];
    y.type = { dtype: 'float32', shape: [...SHAPE] };
    g.addOutput(y);
  }
  return createModel(g, 21, 10);
}

function input(seed: number): Tensor {
  const rng = new SeededRandom(seed);
  const n = SHAPE.reduce((a, b) => a * b, 1);
  return new Tensor('float32', SHAPE, Float32Array.from(rng.fill(n, (r) => r.laplace(0, 1.5))));
}

function activationOf(x: Tensor): Float32Array {
  const b = [0.1, -0.3, 0.2, 0.05, -1, 0.7];
  const inner = SHAPE[2] * SHAPE[3];
  const d = x.data as Float32Array;
  return Float32Array.from(d, (v, i) => v + Math.fround(b[Math.floor(i / inner) % SHAPE[1]]));
}

const CASES: [string, AffineParams][] = [
  ['uint4 per channel, mixed 0..4 bits', paramsFromRange({ lo: [-2, -1, 0, -3, -0.5, 0.2], hi: [2, 3, 4, 1, -0.5, 0.2], bits: [4, 3, 2, 1, 0, 4], axis: 1 })],
  ['uint8 per channel, 5..8 bits', paramsFromRange({ lo: [-2, -1, 0, -3, -4, -1], hi: [2, 3, 4, 1, 5, 0], bits: [8, 5, 6, 7, 8, 5], axis: 1 })],
  ['uint8 per tensor', paramsFromRange({ lo: -3, hi: 4, bits: 8 })],
  ['int4 per channel (signed view), 3 bits', paramsFromRange({ lo: -2, hi: 2.5, bits: [3, 3, 3, 3, 3, 3], axis: 1, signed: true })],
  ['uint4 per tensor, 4 bits (no clamp needed)', paramsFromRange({ lo: 0, hi: 3, bits: 4 })],
];

describe('lowerToQdq of activations', () => {
  it.each(CASES)('%s: onnxruntime computes exactly fakeQuantize', async (_, p) => {
    const model = netWithActivation(p);
    const x = input(3);
    const out = await run(lowerToQdq(model), { x });
    const want = fakeQuantize(activationOf(x), SHAPE, p);
    expect(out.y.length).toBe(want.length);
    let differ = 0;
    for (let i = 0; i < want.length; i++) if (!Object.is(out.y[i], want[i])) differ++;
    expect(differ).toBe(0);
  });

  it('inserts the clamp only where a channel has fewer levels than its container', () => {
    const ops = (p: AffineParams, minContainerBits?: 4 | 8) => lowerToQdq(netWithActivation(p), { minContainerBits }).graph.nodes.map((n) => n.opType);
    expect(ops(CASES[0][1])).toEqual(['Add', 'Max', 'Min', 'QuantizeLinear', 'DequantizeLinear', 'Identity']);
    // A 4-bit grid is held in uint8 behind a clamp by default (never a run-time uint4 tensor: onnxruntime 1.30
    // corrupts memory on those); in uint4 it needs none.
    expect(ops(CASES[4][1])).toEqual(['Add', 'Max', 'Min', 'QuantizeLinear', 'DequantizeLinear', 'Identity']);
    expect(ops(CASES[4][1], 4)).toEqual(['Add', 'QuantizeLinear', 'DequantizeLinear', 'Identity']);
    const g = lowerToQdq(netWithActivation(CASES[0][1])).graph;
    const q = g.nodes.find((n) => n.opType === 'QuantizeLinear')!;
    expect(q.getInt('axis', -99)).toBe(1);
    expect(q.inputs[2]!.const!.dtype).toBe('uint8');
    expect(lowerToQdq(netWithActivation(CASES[0][1]), { minContainerBits: 4 }).graph.nodes.find((n) => n.opType === 'QuantizeLinear')!.inputs[2]!.const!.dtype).toBe('uint4');
    expect(q.inputs[1]!.const!.shape).toEqual([6]);
    expect(g.nodes.find((n) => n.opType === 'Max')!.inputs[1]!.const!.shape).toEqual([6, 1, 1]);
    const perTensor = lowerToQdq(netWithActivation(CASES[2][1])).graph.nodes.find((n) => n.opType === 'QuantizeLinear')!;
    expect(perTensor.attributes.has('axis')).toBe(false);
    expect(perTensor.inputs[1]!.const!.shape).toEqual([]);
  });

  it('leaves the input model alone, and lowering twice changes nothing more', () => {
    const model = netWithActivation(CASES[0][1]);
    const before = writeOnnx(model);
    const once = lowerToQdq(model);
    expect(Buffer.compare(Buffer.from(writeOnnx(model)), Buffer.from(before))).toBe(0);
    expect(model.graph.value('act')!.quant).toBeDefined();
    const twice = lowerToQdq(once);
    expect(Buffer.compare(Buffer.from(writeOnnx(twice)), Buffer.from(writeOnnx(once)))).toBe(0);
    // Same input, same bytes.
    expect(Buffer.compare(Buffer.from(writeOnnx(lowerToQdq(model))), Buffer.from(writeOnnx(once)))).toBe(0);
  });

  it('a quantized graph output keeps its name and returns the quantized values', async () => {
    const p = CASES[0][1];
    const lowered = lowerToQdq(netWithActivation(p, true));
    expect(lowered.graph.outputs.map((v) => v.name)).toEqual(['act']);
    expect(lowered.graph.outputs[0].producer!.opType).toBe('DequantizeLinear');
    const x = input(4);
    const out = await run(lowered, { x });
    expect(Array.from(out.act)).toEqual(Array.from(fakeQuantize(activationOf(x), SHAPE, p)));
  });

  it('rejects an annotation without a grid, and one whose channel count disagrees with the tensor', () => {
    const p = CASES[0][1];
    const noGrid = netWithActivation(p);
    noGrid.graph.value('act')!.quant = { axis: 1, range: { lo: new Float64Array(6), hi: new Float64Array(6).fill(1) }, bits: new Int32Array(6).fill(4) };
    expect(() => lowerToQdq(noGrid)).toThrow(expect.objectContaining({ code: 'E_INVALID_GRAPH', hint: expect.stringContaining('quantize') }));
    const wrong = netWithActivation(paramsFromRange({ lo: -1, hi: 1, bits: [4, 4, 4], axis: 1 }));
    expect(() => lowerToQdq(wrong)).toThrow(expect.objectContaining({ code: 'E_SHAPE', place: expect.objectContaining({ value: 'act' }) }));
  });
});

describe('lowerToQdq of float weights carrying an annotation', () => {
  it('becomes DequantizeLinear of a packed int4 tensor that onnxruntime reads as fakeQuantize', async () => {
    const rng = new SeededRandom(11);
    const wShape = [4, 3, 3, 3];
    const w = Float32Array.from(rng.fill(4 * 27, (r) => r.normal(0, 0.3)));
    const p = paramsFromRange({ lo: [-0.5, -0.6, -0.4, -0.2], hi: [0.5, 0.7, 0.3, 0.2], bits: [4, 3, 4, 2], axis: 0, signed: true });
    const g = new Graph('w');
    const x = g.addInput('x', { dtype: 'float32', shape: [1, 3, 5, 5] });
    const wv = g.addInitializer('w', new Tensor('float32', wShape, w));
    wv.quant = annotation(p);
    const y = g.addNode({ opType: 'Conv', name: 'conv', inputs: [x, wv], outputs: ['y'], attributes: { kernel_shape: attr.ints([3, 3]) } }).outputs[0];
    g.addOutput(y);
    const lowered = lowerToQdq(createModel(g, 21, 10));
    const dq = lowered.graph.nodes[0];
    expect(dq.opType).toBe('DequantizeLinear');
    expect(dq.inputs[0]!.const!.dtype).toBe('int4');
    expect(lowered.graph.value('w')).toBeUndefined();
    // The dequantized weights, fetched as an extra output, are exactly fakeQuantize's.
    lowered.graph.addOutput(dq.outputs[0]);
    const feed = new Tensor('float32', [1, 3, 5, 5], Float32Array.from(rng.fill(75, (r) => r.uniform() * 2 - 1)));
    const out = await run(lowered, { x: feed });
    expect(Array.from(out[dq.outputs[0].name])).toEqual(Array.from(fakeQuantize(w, wShape, p)));
    // The convolution itself agrees with a float32 one on those weights up to float32 accumulation order
    // (onnxruntime does not fold DequantizeLinear, so it may pick another convolution algorithm).
    const g2 = new Graph('ref');
    const x2 = g2.addInput('x', { dtype: 'float32', shape: [1, 3, 5, 5] });
    const wq = g2.addInitializer('w', new Tensor('float32', wShape, fakeQuantize(w, wShape, p)));
    g2.addOutput(g2.addNode({ opType: 'Conv', name: 'conv', inputs: [x2, wq], outputs: ['y'], attributes: { kernel_shape: attr.ints([3, 3]) } }).outputs[0]);
    const ref = await run(createModel(g2, 21, 10), { x: feed });
    for (let i = 0; i < ref.y.length; i++) expect(Math.abs(out.y[i] - ref.y[i])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(ref.y[i])));
  });
});
