import { createPassContext, getPass, MemoryReportSink, runPipeline } from '@nibble/core';
import { attr, constantTensor, Graph, type Node, parseGraph, printGraph, SeededRandom, Tensor, type Value } from '@nibble/ir';
import { dequantize, paramsOfAnnotation } from '@nibble/quant';
import { fakeCalibration } from '@nibble/testing';
import '@nibble/pass-clipping';
import '@nibble/pass-graph';
import '@nibble/pass-quantize';
import { biasCorrectPass } from './bias-correct.pass';
import { syntheticWeight } from './math/synthetic-weight';
import './index';

/*
 * The corrected weights a runtime computes are read back from the graph
 * (DequantizeLinear of the stored levels, then the Add of fold=exact, in
 * float32 as onnxruntime does) and compared per output channel with the
 * float weights quantize kept: means equal to 1e-6, stds too in mean-var.
 */

const PIPE = 'quant-policy{activations=false,first-last-bits=4},clip-minmax{target=weights},quantize';

/** x [N,8,6,6] -> Conv(w [16,8,3,3], b) -> y: one 4-bit weight with means away from 0 and stds spread 10x. */
function convNet(seed = 3): Graph {
  const g = new Graph('conv');
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 8, 6, 6] });
  const { w, shape } = syntheticWeight(seed);
  const wv = g.addInitializer('w', new Tensor('float32', shape, w));
  const b = g.addInitializer('b', Tensor.from('float32', [16], Array.from({ length: 16 }, (_, i) => i / 8)));
  const conv = g.addNode({ opType: 'Conv', name: 'conv', inputs: [x, wv, b], outputs: ['y'], attributes: { pads: attr.ints([1, 1, 1, 1]) } });
  conv.outputs[0].type = { dtype: 'float32', shape: [1, 16, 6, 6] };
  g.addOutput(conv.outputs[0]);
  return g;
}

async function run(graph: Graph, pipeline: string, batches?: Record<string, Tensor>[], sink = new MemoryReportSink()): Promise<Graph> {
  const ctx = createPassContext({ reportSink: sink });
  if (batches) fakeCalibration(ctx, graph, batches);
  return (await runPipeline(graph, pipeline, ctx)).graph;
}

/** The weight a layer reads, as the runtime computes it, in float64 from float32 arithmetic. */
function effectiveWeight(layer: Node): Float64Array {
  let v: Value = layer.inputs[1]!;
  let shift: { values: Float64Array; axis: number; shape: readonly number[] } | undefined;
  if (v.producer?.opType === 'Add') {
    const c = constantTensor(v.producer.inputs[1])!;
    shift = { values: c.toFloat64(), axis: c.shape.findIndex((d) => d > 1), shape: c.shape };
    v = v.producer.inputs[0]!;
  }
  const dq = v.producer!;
  const levels = constantTensor(dq.inputs[0])!;
  const deq = dequantize(levels.toFloat64(), levels.shape, paramsOfAnnotation(v.quant!, v.name), v.name);
  if (!shift) return Float64Array.from(deq);
  const inner = levels.shape.slice(shift.axis + 1).reduce((a, b) => a * b, 1);
  const C = levels.shape[shift.axis];
  return Float64Array.from(deq, (d, i) => Math.fround(d + Math.fround(shift!.values[Math.floor(i / inner) % C])));
}

/** Per output channel (axis 0) mean and std (population) of x [O, ...]. */
function channelMoments(x: ArrayLike<number>, O: number): { mean: number[]; std: number[] } {
  const per = x.length / O;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < O; c++) {
    let s = 0;
    for (let j = 0; j < per; j++) s += x[c * per + j];
    const m = s / per;
    let ss = 0;
    for (let j = 0; j < per; j++) ss += (x[c * per + j] - m) ** 2;
    mean.push(m);
    std.push(Math.sqrt(ss / per));
  }
  return { mean, std };
}

const floatWeight = () => channelMoments(syntheticWeight(3).w, 16);
const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
const maxRel = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.abs(b[i])));

describe("pass 'bias-correct'", () => {
  it('is registered and keeps the float calibration statistics', () => {
    expect(getPass('bias-correct')).toBe(biasCorrectPass);
    expect(biasCorrectPass.preserves).not.toBe('all');
  });

  it('fold=exact puts the shift in a per-channel Add after the DequantizeLinear (structure)', async () => {
    const g = await run(convNet(), `${PIPE},bias-correct`);
    expect(printGraph(g, { maxValues: 0 })).toBe([
      'graph conv(%x : f32[1,8,6,6]) {',
      '  %b : f32[16] = const <16 values>',
      '  %w_quantized : i4[16,8,3,3] = const <16x8x3x3 values>',
      '  %w_scale : f32[16] = const <16 values>',
      '  %w_zero_point : i4[16] = const <16 values>',
      '  %w_shift : f32[16,1,1,1] = const <16x1x1x1 values>',
      '  %w : f32[16,8,3,3] #q<axis=0 bits=<16 values> signed=true range=<16 values> scale=<16 values> zp=<16 values> src="clip-minmax{target=weights}"> = DequantizeLinear(%w_quantized, %w_scale, %w_zero_point) {axis=0} @w_dequantize',
      '  %w_corrected : f32[16,8,3,3] = Add(%w, %w_shift) @w_bias_correct',
      '  %y : f32[1,16,6,6] = Conv(%x, %w_corrected, %b) {pads=[1,1,1,1]} @conv',
      '  return %y',
      '}',
      '',
    ].join('\n'));
  });

  it('fold=exact, mode=mean: every output channel\'s mean is the float mean to 1e-6 (it was not before)', async () => {
    const before = channelMoments(effectiveWeight((await run(convNet(), PIPE)).node('conv')!), 16);
    const g = await run(convNet(), `${PIPE},bias-correct`);
    const after = channelMoments(effectiveWeight(g.node('conv')!), 16);
    const want = floatWeight();
    expect(maxDiff(before.mean, want.mean)).toBeGreaterThan(1e-4);
    expect(maxDiff(after.mean, want.mean)).toBeLessThan(1e-6);
    // The mean shift alone leaves the scales alone.
    expect(Array.from(g.value('w')!.quant!.scale!)).toEqual(Array.from((await run(convNet(), PIPE)).value('w')!.quant!.scale!));
  });

  it('mode=mean-var restores the std too (form=code), form=paper the std with the mean at xi E[W]', async () => {
    const want = floatWeight();
    const code = channelMoments(effectiveWeight((await run(convNet(), `${PIPE},bias-correct{mode=mean-var}`)).node('conv')!), 16);
    expect(maxDiff(code.mean, want.mean)).toBeLessThan(1e-6);
    expect(maxRel(code.std, want.std)).toBeLessThan(1e-6);
    const before = channelMoments(effectiveWeight((await run(convNet(), PIPE)).node('conv')!), 16);
    expect(maxRel(before.std, want.std)).toBeGreaterThan(1e-3);
    const paper = channelMoments(effectiveWeight((await run(convNet(), `${PIPE},bias-correct{mode=mean-var,form=paper}`)).node('conv')!), 16);
    expect(maxRel(paper.std, want.std)).toBeLessThan(1e-6);
    const xi = want.std.map((s, c) => s / before.std[c]);
    expect(maxDiff(paper.mean, want.mean.map((m, c) => xi[c] * m))).toBeLessThan(1e-6);
  });

  it('fold=bias: zero points and scales carry all but a residual, which the bias carries at the input means', async () => {
    const rand = new SeededRandom(8);
    const means = [0.5, -1, 2, 0, 1, 0.25, -0.5, 3];
    const batches = Array.from({ length: 4 }, () => ({
      x: new Tensor('float32', [2, 8, 6, 6], Float32Array.from({ length: 2 * 8 * 36 }, (_, i) => Math.fround(means[Math.floor(i / 36) % 8] + rand.uniform() - 0.5))),
    }));
    const sink = new MemoryReportSink();
    const g = await run(convNet(), `${PIPE},bias-correct{fold=bias,mode=mean-var}`, batches, sink);
    const conv = g.node('conv')!;
    expect(conv.inputs[1]!.producer!.opType).toBe('DequantizeLinear');
    const stored = channelMoments(effectiveWeight(conv), 16);
    const want = floatWeight();
    // Brute-force input means, and the residual each channel still lacks.
    const xMean = means.map((_, j) => {
      let s = 0;
      let n = 0;
      for (const b of batches) {
        const d = b.x.data as Float32Array;
        for (let i = 0; i < d.length; i++) if (Math.floor(i / 36) % 8 === j) { s += d[i]; n++; }
      }
      return s / n;
    });
    const residual = want.mean.map((m, c) => m - stored.mean[c]);
    const bias = constantTensor(conv.inputs[2])!.toFloat64();
    for (let c = 0; c < 16; c++) {
      const expected = c / 8 + residual[c] * 9 * xMean.reduce((a, b) => a + b, 0);
      expect(Math.abs(bias[c] - Math.fround(expected))).toBeLessThan(1e-6);
    }
    // The residual is under half a step: the rest moved into the zero points (or there was none to move).
    const q = g.value('w')!.quant!;
    residual.forEach((r, c) => expect(Math.abs(r)).toBeLessThanOrEqual(q.scale![c] / 2 + 1e-9));
    expect(maxRel(stored.std, want.std)).toBeLessThan(1e-6);
    expect(sink.find('correction')[0].value).toMatchObject({ channels: 16 });
  });

  it('fold=bias with zero-point=false keeps symmetric weights symmetric: the whole shift goes to the bias', async () => {
    const rand = new SeededRandom(9);
    const batches = Array.from({ length: 2 }, () => ({ x: new Tensor('float32', [2, 8, 6, 6], Float32Array.from({ length: 2 * 8 * 36 }, () => Math.fround(rand.uniform() + 0.5))) }));
    const pipe = PIPE.replace(/(^|,)quantize(,|$)/, '$1quantize{symmetric-weights=true}$2');
    const g = await run(convNet(), `${pipe},bias-correct{fold=bias,zero-point=false}`, batches);
    const q = g.value('w')!.quant!;
    expect(Array.from(q.zeroPoint!)).toEqual(new Array(16).fill(0));
    // The corrected channel means are those of the float weights, through the bias at the input means.
    const conv = g.node('conv')!;
    expect(constantTensor(conv.inputs[2])!.toFloat64().some((b, c) => Math.abs(b - c / 8) > 1e-6)).toBe(true);
  });

  it('fold=bias on fully connected layers: Gemm\'s C (scaled by alpha/beta), the Add after a MatMul, or a new Add', async () => {
    const text = `graph fc(%x : f32[4,3]) {
  %wa : f32[2,3] = const [0.3, -0.7, 0.1, 0.9, 0.2, -0.4]
  %ca : f32[2] = const [1, -1]
  %wb : f32[2,2] = const [0.5, -0.25, 0.75, 0.1]
  %bb : f32[2] = const [0.5, 0.5]
  %wc : f32[2,2] = const [0.2, 0.6, -0.3, 0.05]
  %h = Gemm(%x, %wa, %ca) {alpha=2.0, beta=0.5, transB=1} @ga
  %m = MatMul(%h, %wb) @mb
  %hb = Add(%m, %bb)
  %y = MatMul(%hb, %wc) @mc
  return %y
}
`;
    const rand = new SeededRandom(2);
    const batches = Array.from({ length: 2 }, () => ({
      x: new Tensor('float32', [4, 3], Float32Array.from({ length: 12 }, (_, i) => Math.fround([1, -2, 0.5][i % 3] + rand.uniform() - 0.5))),
      h: new Tensor('float32', [4, 2], Float32Array.from({ length: 8 }, () => Math.fround(rand.uniform() + 1))),
      hb: new Tensor('float32', [4, 2], Float32Array.from({ length: 8 }, () => Math.fround(rand.uniform() - 2))),
    }));
    const g = await run(parseGraph(text), 'quant-policy{activations=false,w-bits=2,first-last-bits=2},clip-minmax{target=weights},quantize,bias-correct{fold=bias}', batches);
    expect(g.node('ga')!.inputs[2]!.name).toBe('ca_corrected');
    expect(g.value('bb')).toBeUndefined();
    expect(g.node('hb')!.inputs[1]!.name).toBe('bb_corrected');
    const inputMean = (name: string, j: number, n: number) => {
      let sum = 0;
      let count = 0;
      for (const b of batches) (b as Record<string, Tensor>)[name].toFloat64().forEach((v, i) => { if (i % n === j) { sum += v; count++; } });
      return sum / count;
    };
    /** Float mean minus stored mean of output channel c, the weight laid out [rows, cols] with channels on `axis`. */
    const residual = (w: string, floats: number[], axis: number, c: number) => {
      const stored = effectiveWeight(g.nodes.find((n) => n.inputs[1]?.name === w)!);
      const cols = 2;
      const pick = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => (axis === 0 ? Math.floor(i / (a.length / 2)) : i % cols) === c);
      const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
      return mean(pick(floats)) - mean(pick(stored));
    };
    const sumX = [0, 1, 2].reduce((a, j) => a + inputMean('x', j, 3), 0);
    const ca = constantTensor(g.value('ca_corrected'))!.toFloat64();
    const wa = [0.3, -0.7, 0.1, 0.9, 0.2, -0.4].map(Math.fround);
    [1, -1].forEach((c0, c) => expect(ca[c]).toBeCloseTo(c0 + (2 / 0.5) * residual('wa', wa, 0, c) * sumX, 5));
    const sumH = [0, 1].reduce((a, j) => a + inputMean('h', j, 2), 0);
    const bb = constantTensor(g.value('bb_corrected'))!.toFloat64();
    const wb = [0.5, -0.25, 0.75, 0.1].map(Math.fround);
    [0, 1].forEach((c) => expect(bb[c]).toBeCloseTo(0.5 + residual('wb', wb, 1, c) * sumH, 5));
    // The last MatMul had no bias Add: one now follows it, under the graph output's name.
    expect(g.outputs[0].name).toBe('y');
    expect(g.outputs[0].producer!.opType).toBe('Add');
    expect(() => g.verify()).not.toThrow();
  });

  it('fold=bias on a MatMul over [batch, tokens, K] inputs (channels on the last axis): the shift at the input\'s mean over all K channels', async () => {
    const text = `graph t(%x : f32[2,5,3]) {
  %w : f32[3,2] = const [0.31, -0.72, 0.13, 0.94, 0.27, -0.41]
  %b : f32[2] = const [0.5, -0.5]
  %m = MatMul(%x, %w) @mm
  %y = Add(%m, %b)
  return %y
}
`;
    const rand = new SeededRandom(4);
    // Channel k of the last axis centred at [2, -1, 0.5][k], so a per-token (axis 1) mean would give another shift.
    const batches = Array.from({ length: 2 }, () => ({
      x: new Tensor('float32', [2, 5, 3], Float32Array.from({ length: 30 }, (_, i) => Math.fround([2, -1, 0.5][i % 3] + (rand.uniform() - 0.5) * (1 + Math.floor(i / 3) % 5)))),
    }));
    const g = await run(parseGraph(text), 'quant-policy{activations=false,w-bits=2,first-last-bits=2},clip-minmax{target=weights},quantize,bias-correct{fold=bias}', batches);
    const stored = effectiveWeight(g.node('mm')!);
    const wf = [0.31, -0.72, 0.13, 0.94, 0.27, -0.41].map(Math.fround);
    // E[sum_k x_k] over every token of every batch, in float64.
    let sum = 0;
    let rows = 0;
    for (const b of batches) b.x.toFloat64().forEach((v, i) => { sum += v; if (i % 3 === 0) rows++; });
    const sumX = sum / rows;
    const bias = constantTensor(g.node('y')!.inputs[1])!.toFloat64();
    [0.5, -0.5].forEach((b0, n) => {
      const r = [0, 1, 2].reduce((a, k) => a + wf[k * 2 + n] - stored[k * 2 + n], 0) / 3;
      expect(Math.abs(bias[n] - (b0 + r * sumX))).toBeLessThan(1e-6);
    });
    expect(bias.some((v, n) => Math.abs(v - [0.5, -0.5][n]) > 1e-3)).toBe(true);
  });

  it('folds a ConvTranspose\'s residual into its bias (mean taps per output pixel x input means)', async () => {
    const wf = [0.3, -0.7, 0.1, 0.9, 0.2, -0.4, 0.5, 0.6, -0.1, 0.25, 0.8, -0.9, 0.4, 0.35, -0.3, 0.7].map(Math.fround);
    const text = `graph t(%x : f32[1,2,3,3]) {
  %w : f32[2,2,2,2] = const [${wf.join(', ')}]
  %y = ConvTranspose(%x, %w) {strides=[2,2]} @deconv
  return %y
}
`;
    const batches = [{ x: new Tensor('float32', [1, 2, 3, 3], Float32Array.from({ length: 18 }, (_, i) => i / 9)) }];
    const g = await run(parseGraph(text), `${PIPE},bias-correct{fold=bias}`, batches);
    const deconv = g.node('deconv')!;
    const stored = effectiveWeight(deconv);
    const bias = constantTensor(deconv.inputs[2])!.toFloat64();
    // Weight [C, O, 2, 2]: output channel o = floor(i / 4) % 2; kernel = stride, one tap per output pixel; input means 4/9 and 13/9.
    const mean = (a: ArrayLike<number>, o: number): number => Array.from(a).filter((_, i) => Math.floor(i / 4) % 2 === o).reduce((x, y) => x + y, 0) / 8;
    [0, 1].forEach((o) => expect(bias[o]).toBeCloseTo((mean(wf, o) - mean(stored, o)) * 1 * (17 / 9), 5));
  });

  it('refuses fold=bias where a bias cannot carry the residual, and corrects each weight once', async () => {
    // Statistics without the layer input (calibrated with layerInputs=false, or before the marks).
    const noInput = [{ y: new Tensor('float32', [2, 16, 6, 6]) }];
    await expect(run(convNet(), `${PIPE},bias-correct{fold=bias}`, noInput)).rejects.toMatchObject({
      code: 'E_BAD_OPTION', place: { value: 'x', node: 'conv' }, message: expect.stringMatching(/hold no means of 'x'/),
    });
    const once = await runPipeline(await run(convNet(), `${PIPE},bias-correct`), 'bias-correct');
    expect(once.modified).toBe(false);
  });
});
