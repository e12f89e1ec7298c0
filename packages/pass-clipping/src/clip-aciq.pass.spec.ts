import { createPassContext, getPass, MemoryReportSink, runPipeline } from '@nibble/core';
import { type Graph, parseGraph, SeededRandom, Tensor } from '@nibble/ir';
import { fakeCalibration, laplaceActivation, samplesOf, SMALL_NET } from '@nibble/testing';
import '@nibble/pass-graph';
import '@nibble/pass-quantize';
import { clipAciqPass } from './clip-aciq.pass';
import { histogramOf } from './math/histogram';
import { histogramRangeMse } from './math/histogram-mse';
import './index';

/*
 * ACIQ on activations whose calibration samples are drawn from known
 * Laplace laws: the ranges must be METHOD.md's formula with METHOD.md's
 * alpha table (an independent check of the solved table too), computed
 * from brute-force statistics of the same samples.
 */

/** METHOD.md's table: alpha / b (Laplace) and alpha / s (Gauss) by bit-width. */
const LAPLACE = [0, 1.8628, 2.8307, 3.8972, 5.0286, 6.2048, 7.4131, 8.6456, 9.8968, 11.1627];
const GAUSS = [0, 1.2399, 1.7106, 2.1516, 2.5591, 2.9362, 3.2869, 3.6151, 3.924];

const C_MU = [0.5, -0.2, 1];
const C_B = [1, 0.5, 2];
const D_MU = [0, 1, -1];
const D_B = [0.3, 1, 0.7];

function batches(): Record<string, Tensor>[] {
  const rand = new SeededRandom(5);
  return Array.from({ length: 8 }, () => {
    const d = laplaceActivation(rand, [8, 3, 4, 4], D_MU, D_B);
    // Channel 2 of d is uniform on [-1, 1]: ACIQ's Laplace range overshoots its observed max.
    const data = d.data as Float32Array;
    for (let i = 0; i < data.length; i++) if (Math.floor(i / 16) % 3 === 2) data[i] = Math.fround(2 * rand.uniform() - 1);
    const l = new Tensor('float32', [8, 2], Float32Array.from({ length: 16 }, () => Math.fround(10 * rand.uniform() - 3)));
    return { c: laplaceActivation(rand, [8, 3, 4, 4], C_MU, C_B), d, l };
  });
}

interface Brute { mean: number; b: number; s: number; min: number; max: number; values: Float64Array }

/** Float64 brute-force statistics of channel `ch` (axis 1) of `name` over all batches, or of the whole tensor. */
function brute(all: Record<string, Tensor>[], name: string, ch: number | null): Brute {
  const values = samplesOf(all, name, ch);
  const mean = values.reduce((a, x) => a + x, 0) / values.length;
  const b = values.reduce((a, x) => a + Math.abs(x - mean), 0) / values.length;
  const s = Math.sqrt(values.reduce((a, x) => a + (x - mean) ** 2, 0) / (values.length - 1));
  return { mean, b, s, min: Math.min(...values), max: Math.max(...values), values };
}

async function clip(pipeline: string, sink = new MemoryReportSink()): Promise<{ graph: Graph; data: Record<string, Tensor>[]; sink: MemoryReportSink }> {
  const graph = parseGraph(SMALL_NET);
  const data = batches();
  const ctx = createPassContext({ reportSink: sink });
  fakeCalibration(ctx, graph, data);
  const result = await runPipeline(graph, `mark-fused-relu,quant-policy,${pipeline}`, ctx);
  return { graph: result.graph, data, sink };
}

const range = (g: Graph, name: string) => {
  const q = g.value(name)!.quant!;
  return { lo: Array.from(q.range!.lo), hi: Array.from(q.range!.hi), bits: Array.from(q.bits!), axis: q.axis, signed: q.signed, src: q.rangeSource };
};

describe("pass 'clip-aciq'", () => {
  it('is registered and only annotates', () => {
    expect(getPass('clip-aciq')).toBe(clipAciqPass);
    expect(clipAciqPass.preserves).toBe('all');
  });

  it('gives a Laplace one-sided value [0, max(mu, 0) + alpha_{M+1} b] per channel (the M+1 row)', async () => {
    const { graph, data } = await clip('clip-aciq');
    const r = range(graph, 'c');
    expect(r).toMatchObject({ axis: 1, bits: [4, 4, 4], signed: false, src: 'clip-aciq' });
    for (let ch = 0; ch < 3; ch++) {
      const s = brute(data, 'c', ch);
      expect(Math.abs(s.b - C_B[ch]) / C_B[ch]).toBeLessThan(0.1); // the samples are Laplace(b)
      expect(r.lo[ch]).toBe(0);
      expect(r.hi[ch]).toBeCloseTo(Math.max(s.mean, 0) + LAPLACE[5] * s.b, 3);
    }
  });

  it('gives a signed value lo = max(min, mu - a), hi = lo + 2a with a = alpha_M b', async () => {
    const { graph, data } = await clip('clip-aciq');
    const r = range(graph, 'd');
    for (let ch = 0; ch < 3; ch++) {
      const s = brute(data, 'd', ch);
      const a = LAPLACE[4] * s.b;
      const lo = Math.max(s.min, s.mean - a);
      expect(r.lo[ch]).toBeCloseTo(lo, 3);
      expect(r.hi[ch]).toBeCloseTo(lo + 2 * a, 3);
    }
    // The logits: per tensor at 8 bits.
    const l = range(graph, 'l');
    const s = brute(data, 'l', null);
    expect(l).toMatchObject({ axis: null, bits: [8] });
    expect(l.lo[0]).toBeCloseTo(Math.max(s.min, s.mean - LAPLACE[8] * s.b), 3);
  });

  it('uses the std and the Gauss row with dist=gauss, and the given bits', async () => {
    const { graph, data } = await clip('clip-aciq{dist=gauss,bits=3}');
    const c = range(graph, 'c');
    const d = range(graph, 'd');
    expect(c.bits).toEqual([3, 3, 3]);
    expect(c.src).toBe('clip-aciq{dist=gauss}');
    for (let ch = 0; ch < 3; ch++) {
      const sc = brute(data, 'c', ch);
      expect(c.hi[ch]).toBeCloseTo(Math.max(sc.mean, 0) + GAUSS[4] * sc.s, 3);
      const sd = brute(data, 'd', ch);
      const lo = Math.max(sd.min, sd.mean - GAUSS[3] * sd.s);
      expect(d.lo[ch]).toBeCloseTo(lo, 3);
      expect(d.hi[ch]).toBeCloseTo(lo + 2 * GAUSS[3] * sd.s, 3);
    }
  });

  it('caps at the observed range with cap-observed, and only then', async () => {
    const plain = range((await clip('clip-aciq')).graph, 'd');
    const { graph, data, sink } = await clip('clip-aciq{cap-observed=true}');
    const capped = range(graph, 'd');
    const uniform = brute(data, 'd', 2);
    expect(plain.hi[2]).toBeGreaterThan(uniform.max * 1.5);
    expect(capped.hi[2]).toBeCloseTo(uniform.max, 6);
    expect(capped.lo[2]).toBe(plain.lo[2]);
    for (let ch = 0; ch < 3; ch++) expect(capped.hi[ch]).toBeLessThanOrEqual(brute(data, 'd', ch).max + 1e-6);
    const c = range(graph, 'c');
    for (let ch = 0; ch < 3; ch++) expect(c.hi[ch]).toBeLessThanOrEqual(Math.max(brute(data, 'c', ch).max, 0) + 1e-6);
    expect(sink.find('clipped')[0].value).toMatchObject({ tags: expect.objectContaining({ capped: expect.any(Number) }) });
  });

  it('leaves per-tensor fully connected outputs at min/max with fc-minmax', async () => {
    const { graph, data } = await clip('clip-aciq{fc-minmax=true}');
    const s = brute(data, 'l', null);
    expect(range(graph, 'l')).toMatchObject({ lo: [s.min], hi: [s.max], src: 'clip-aciq{fc-minmax=true}' });
    // Conv outputs are still ACIQ.
    expect(range(graph, 'd').hi[2]).toBeGreaterThan(brute(data, 'd', 2).max * 1.5);
  });

  it('with dist=auto picks per channel the candidate with the least measured MSE', async () => {
    const sink = new MemoryReportSink();
    const { graph, data } = await clip('clip-aciq{dist=auto}', sink);
    const d = range(graph, 'd');
    const laplaceRun = range((await clip('clip-aciq')).graph, 'd');
    for (let ch = 0; ch < 3; ch++) {
      const s = brute(data, 'd', ch);
      // Measured on a fine histogram of the same samples: the choice beats (or ties) Laplace and min/max.
      const h = histogramOf(s.values, 4096);
      const mse = (lo: number, hi: number) => histogramRangeMse(h, lo, hi, 4);
      const chosen = mse(d.lo[ch], d.hi[ch]);
      expect(chosen).toBeLessThanOrEqual(mse(laplaceRun.lo[ch], laplaceRun.hi[ch]) * 1.02);
      expect(chosen).toBeLessThanOrEqual(mse(s.min, s.max) * 1.02);
    }
    // The uniform channel does not keep Laplace's overshooting range.
    expect(d.hi[2]).toBeLessThan(laplaceRun.hi[2]);
    const tags = sink.find('clipped', 'clip-aciq')[0].value as { tags: Record<string, number> };
    expect(Object.values(tags.tags).reduce((a, b) => a + b, 0)).toBe(3 + 3 + 1);
  });

  it('clips weights from their constants when asked (target=weights)', async () => {
    const { graph } = await clip('clip-aciq{target=weights}');
    // w2 is the identity: each output channel has mean 1/3, b = 4/9.
    // conv2 lies between conv1 and the fc layer: 4-bit weights.
    const r = range(graph, 'w2');
    expect(r).toMatchObject({ axis: 0, bits: [4, 4, 4], signed: true, src: 'clip-aciq{target=weights}' });
    const a = LAPLACE[4] * (4 / 9);
    for (let ch = 0; ch < 3; ch++) {
      expect(r.lo[ch]).toBe(0); // max(min = 0, 1/3 - a)
      expect(r.hi[ch]).toBeCloseTo(2 * a, 3);
    }
    // The first layer's weights at 8 bits.
    expect(range(graph, 'w').bits).toEqual([8, 8, 8]);
  });

  it('refuses to clip a value quantize has already turned into a grid', async () => {
    await expect(clip('quantize,clip-aciq')).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/already quantized/) });
  });
});
