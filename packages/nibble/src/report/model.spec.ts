import { join } from 'node:path';
import { FLOAT_WEIGHT_KEY, SeededRandom, type Tensor } from '@nibble/ir';
import { fakeQuantize, paramsFromRange, paramsOfAnnotation } from '@nibble/quant';
import { Histogram } from '@nibble/stats';
import { workspaceRoot } from '@nibble/testing';
import { loadModel } from '../load';
import { quantize } from '../quantize';
import { renderReportHtml } from './html';
import { histogramSqnr, reportData } from './model';

/** SQNR of samples through a grid, in float64: the reference the histogram estimate must approach. */
function directSqnr(x: Float64Array, q: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    s += x[i] * x[i];
    n += (x[i] - q[i]) ** 2;
  }
  return 10 * Math.log10(s / n);
}

/** A histogram of the samples on a 2^-k grid, as the calibration collector builds it. */
function histogramOf(x: Float64Array, binWidth: number): Histogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const start = Math.floor(lo / binWidth);
  const counts = new Float64Array(Math.floor(hi / binWidth) - start + 1);
  for (const v of x) counts[Math.floor(v / binWidth) - start]++;
  return new Histogram(counts, binWidth, start, lo, hi);
}

describe('report SQNR', () => {
  it('the histogram estimate of an activation SQNR matches the SQNR of the samples themselves (4-bit, clipped Laplace)', () => {
    const rng = new SeededRandom(7);
    // Two channels of different spread, one-sided (post-ReLU), as activations are.
    const channels = [0.5, 2].map((b) => Float64Array.from({ length: 40_000 }, () => Math.max(0, -b * Math.log(1 - rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1))));
    const p = paramsFromRange({ lo: new Float64Array(2), hi: Float64Array.from([1.6, 6.5]), bits: Int32Array.from([4, 4]), axis: 0, signed: false });
    let signal = 0;
    let noise = 0;
    const perChannel: number[] = [];
    channels.forEach((x, c) => {
      const one = { ...p, axis: null, scale: p.scale.subarray(c, c + 1), zeroPoint: p.zeroPoint.subarray(c, c + 1), bits: p.bits.subarray(c, c + 1) };
      const q = fakeQuantize(x, [x.length], one);
      perChannel.push(directSqnr(x, q));
      for (let i = 0; i < x.length; i++) { signal += x[i] ** 2; noise += (x[i] - q[i]) ** 2; }
    });
    const direct = 10 * Math.log10(signal / noise);
    const estimate = histogramSqnr(channels.map((x) => histogramOf(x, 2 ** -9)), p)!;
    // Bin centres stand for values at most half a bin (2^-10) away: a small fraction of a 4-bit step (0.1-0.43).
    expect(Math.abs(estimate - direct)).toBeLessThan(0.05);
    // One histogram per channel is required: a mismatch gives no figure rather than a wrong one.
    expect(histogramSqnr([histogramOf(channels[0], 2 ** -9)], p)).toBeNull();
    // And a channel's own estimate tracks its own SQNR.
    const first = { ...p, axis: null, scale: p.scale.subarray(0, 1), zeroPoint: p.zeroPoint.subarray(0, 1), bits: p.bits.subarray(0, 1) };
    expect(Math.abs(histogramSqnr([histogramOf(channels[0], 2 ** -9)], first)! - perChannel[0])).toBeLessThan(0.05);
  });

  it('weights: exact SQNR of each float weight against its levels; activations: from the calibration histograms', async () => {
    const model = await loadModel(join(workspaceRoot(), 'models', 'fmnist-resnet20.onnx'));
    const result = await quantize(model, { recipe: 'w4a4-percentile', data: 'fashion-mnist:calib', samples: 8 });
    const data = reportData(result, { model: 'm.onnx', out: 'q.onnx' });
    const weights = data.tensors.filter((t) => t.kind === 'weight');
    expect(weights.length).toBeGreaterThan(10);
    for (const t of weights) {
      const v = result.model.graph.nodes.flatMap((n) => n.outputs).find((o) => o.name === t.name)!;
      const float = v.meta[FLOAT_WEIGHT_KEY] as Tensor;
      const x = float.toFloat64();
      // Reference: the float weight fake-quantized on its own grid (independent of the stored levels).
      const ref = directSqnr(x, fakeQuantize(x, float.shape, paramsOfAnnotation(v.quant!, v.name)));
      expect(t.sqnrFrom).toBe('weights');
      expect(t.sqnrDb!).toBeCloseTo(ref, 9);
    }
    // The stored levels carry at most their width, and real weights crowd round zero.
    for (const t of weights) expect(t.entropyBits!).toBeLessThanOrEqual(Math.max(...t.bits) + 1e-12);
    expect(data.meanEntropyBits.weights!).toBeGreaterThan(1.5);
    expect(data.meanEntropyBits.weights!).toBeLessThan(result.report.meanBits.weights!);
    expect(data.meanEntropyBits.activations!).toBeGreaterThan(0.5);
    expect(data.meanEntropyBits.activations!).toBeLessThan(result.report.meanBits.activations!);
    // 4-bit weights: between the 1-bit and the 8-bit regime (6 dB per bit).
    const mean = weights.reduce((s, t) => s + t.sqnrDb!, 0) / weights.length;
    expect(mean).toBeGreaterThan(12);
    expect(mean).toBeLessThan(30);
    // The percentile recipe collects per-channel histograms: every activation gets an estimate, measured on what its
    // reader sees (a fused ReLU's negatives are zeros, not noise): at 4 bits well above 5 dB.
    const acts = data.tensors.filter((t) => t.kind === 'activation' && t.op !== 'input');
    expect(acts.length).toBeGreaterThan(5);
    for (const t of acts) {
      expect(t.sqnrFrom).toBe('histogram');
      expect(t.sqnrDb!).toBeGreaterThan(5);
    }
    // Every histogram carries what each clipping method would choose; min/max ends where calibration saw the maximum.
    const drawn = data.tensors.filter((t) => t.histogram);
    expect(drawn.length).toBeGreaterThan(5);
    for (const t of drawn) {
      expect(t.candidates!.map((c) => c.method)).toEqual(['minmax', 'aciq-laplace', 'aciq-gauss', 'percentile', 'kl', 'mse']);
      const minmax = t.candidates![0];
      expect(minmax.hi).toBeLessThanOrEqual(t.observed![1]);
      for (const c of t.candidates!) expect(c.hi).toBeGreaterThan(c.lo);
    }
    const html = renderReportHtml(data);
    expect(html.match(/class="cand"/g)!.length).toBe(12 * drawn.length);
  }, 120_000);
});
