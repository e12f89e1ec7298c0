import * as ort from 'onnxruntime-node';
import { createPassContext, MemoryReportSink, runPipeline } from '@nibble/core';
import { createModel, type Graph, parseGraph, Tensor } from '@nibble/ir';
import { lowerToQdq, writeOnnx } from '@nibble/onnx';
import '@nibble/pass-allocation';
import '@nibble/pass-graph';
import '@nibble/pass-quantize';
import { SeededRandom } from '@nibble/quant';
import { fakeCalibration } from '@nibble/testing';
import './index';

/*
 * A conv output read only by ReLU6 = Clip(0, 6), whose pre-activation goes
 * well past 6: every clipping pass ends the range at 6 (levels above it
 * would encode values the Clip discards), alloc-bits' re-clip too, and the
 * quantized model onnxruntime runs is the float64 fake quantization on
 * that grid.
 */

const N = 16;
const W = [0.3, -0.2, 2, 1.5, -0.6, 0.9];
const B = [6.5, 4, 5];
const NET = `graph g(%x : f32[${N},2,4,4]) {
  %w : f32[3,2,1,1] = const [${W.join(', ')}]
  %b : f32[3] = const [${B.join(', ')}]
  %zero : f32[] = const [0]
  %six : f32[] = const [6]
  %c : f32[${N},3,4,4] = Conv(%x, %w, %b) {kernel_shape=[1, 1]} @conv1
  %y : f32[${N},3,4,4] = Clip(%c, %zero, %six)
  return %y
}
`;

function inputOf(seed: number): Float32Array {
  const r = new SeededRandom(seed);
  return Float32Array.from({ length: N * 32 }, () => Math.fround(r.laplace(0, 2)));
}

/** The 1x1 conv in float64, from the test's own loop. */
function conv64(x: Float32Array): Float64Array {
  const out = new Float64Array(N * 48);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < 3; o++) {
      for (let p = 0; p < 16; p++) {
        out[(n * 3 + o) * 16 + p] = B[o] + W[2 * o] * x[(n * 2) * 16 + p] + W[2 * o + 1] * x[(n * 2 + 1) * 16 + p];
      }
    }
  }
  return out;
}

const CALIB = [1, 2, 3, 4].map((seed) => ({ c: new Tensor('float32', [N, 3, 4, 4], Float32Array.from(conv64(inputOf(seed)))) }));

async function quantized(pipeline: string, sink = new MemoryReportSink()): Promise<Graph> {
  const graph = parseGraph(NET);
  const ctx = createPassContext({ reportSink: sink });
  fakeCalibration(ctx, graph, CALIB);
  return (await runPipeline(graph, `mark-fused-relu,quant-policy{weights=false},${pipeline}`, ctx)).graph;
}

describe("a ReLU6's upper bound", () => {
  it('calibration goes past 6 in every channel', () => {
    for (let o = 0; o < 3; o++) {
      const m = Math.max(...CALIB.flatMap((b) => Array.from(b.c.toFloat32().filter((_, i) => Math.floor(i / 16) % 3 === o))));
      expect(m).toBeGreaterThan(9);
    }
  });

  it.each(['clip-minmax', 'clip-aciq', 'clip-aciq{dist=auto}', 'clip-percentile', 'clip-kl'])('%s ends every range at 6', async (pass) => {
    const sink = new MemoryReportSink();
    const q = (await quantized(pass, sink)).value('c')!.quant!;
    expect(Array.from(q.range!.lo)).toEqual([0, 0, 0]);
    expect(Array.from(q.range!.hi)).toEqual([6, 6, 6]);
    expect(sink.find('clipped')[0].value).toMatchObject({ aboveUpperBound: 3 });
  });

  it("quantize's own min/max, with no clipping pass before it, ends the grid at 6 too", async () => {
    const q = (await quantized('quantize')).value('c')!.quant!;
    for (let o = 0; o < 3; o++) {
      expect(q.range!.lo[o]).toBe(0);
      // The grid's top is 6 up to float32 rounding of the scale (15 steps of 6/15).
      expect(q.range!.hi[o]).toBeCloseTo(6, 5);
    }
  });

  it('clip-mse searches min(x, 6): its grid point next to 6, never above', async () => {
    const sink = new MemoryReportSink();
    const q = (await quantized('clip-mse', sink)).value('c')!.quant!;
    expect(Array.from(q.range!.lo)).toEqual([0, 0, 0]);
    for (const hi of q.range!.hi) {
      expect(hi).toBeLessThanOrEqual(6);
      expect(hi).toBeGreaterThan(5.95);
    }
    expect(sink.find('clipped')[0].value).toMatchObject({ aboveUpperBound: 3 });
  });

  it("and alloc-bits' re-clip at the new widths", async () => {
    const g = await quantized('clip-kl,alloc-bits{target=activations,budget=3}');
    const q = g.value('c')!.quant!;
    expect(Array.from(q.bits!)).toEqual([2, 4, 3]);
    expect(Array.from(q.range!.hi)).toEqual([6, 6, 6]);
  });

  it('onnxruntime runs the lowered model as the float64 fake quantization on [0, 6]', async () => {
    const g = await quantized('clip-minmax,quantize');
    const q = g.value('c')!.quant!;
    expect(Array.from(q.scale!)).toEqual(new Array(3).fill(Math.fround(6 / 15)));
    expect(Array.from(q.zeroPoint!)).toEqual([0, 0, 0]);
    const session = await ort.InferenceSession.create(writeOnnx(lowerToQdq(createModel(g, 21, 10))));
    const x = inputOf(9);
    const y = (await session.run({ x: new ort.Tensor('float32', x, [N, 2, 4, 4]) })).y.data as Float32Array;
    await session.release();
    const c = conv64(x);
    const scale = Math.fround(6 / 15);
    let exact = 0;
    let saturated = 0;
    for (let i = 0; i < c.length; i++) {
      const k = Math.min(15, Math.max(0, Math.round(c[i] / scale)));
      const want = Math.fround(k * scale);
      if (y[i] === want) exact++;
      // A float32 conv may land across a rounding boundary the float64 one does not: one level at most.
      else expect(Math.abs(y[i] - want)).toBeLessThanOrEqual(scale * 1.0001);
      if (c[i] > 6) { saturated++; expect(y[i]).toBe(6); }
    }
    expect(exact / c.length).toBeGreaterThan(0.999);
    expect(saturated).toBeGreaterThan(c.length / 5);
  });
});
