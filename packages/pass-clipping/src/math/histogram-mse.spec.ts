import { SeededRandom, paramsFromRange, quantizationMse, toFloat32 } from '@nibble/quant';
import { histogramOf } from './histogram';
import { histogramQuantMse, histogramRangeMse } from './histogram-mse';

describe('histogramQuantMse', () => {
  it('is step^2 / 12 for a uniform distribution on its own grid', () => {
    const p = paramsFromRange({ lo: 0, hi: 1, bits: 4 });
    const s = p.scale[0];
    const e = histogramQuantMse({ counts: [1], edges: [0, 1] }, p);
    expect(e / ((s * s) / 12)).toBeCloseTo(1, 5);
  });

  it('adds the clipping noise of mass beyond the grid', () => {
    // uniform on [0, 2], grid on [0, 1]: clip part (1/2) * integral_1^2 (x - 1)^2 dx = 1/6
    const p = paramsFromRange({ lo: 0, hi: 1, bits: 8 });
    const s = p.scale[0];
    const e = histogramQuantMse({ counts: [1, 1], edges: [0, 1, 2] }, p);
    expect(e).toBeCloseTo(1 / 6 + (s * s) / 24, 6);
  });

  it('treats a zero-width bin as a point mass', () => {
    const p = paramsFromRange({ lo: -1, hi: 1, bits: 3 });
    const levels = Array.from({ length: 8 }, (_, k) => toFloat32((k - p.zeroPoint[0]) * p.scale[0]));
    const nearest = levels.reduce((a, b) => (Math.abs(b - 0.3) < Math.abs(a - 0.3) ? b : a));
    expect(histogramQuantMse({ counts: [5], edges: [0.3, 0.3] }, p)).toBeCloseTo((0.3 - nearest) ** 2, 12);
  });

  it('agrees with the sample MSE of fake quantization for a fine histogram', () => {
    const x = new SeededRandom(9).fill(100000, (r) => r.laplace(0.1, 0.8));
    const h = histogramOf(x, 8192);
    for (const [lo, hi, bits] of [[-2, 2.5, 4], [-1, 1, 2], [-4, 5, 3], [-0.5, 3, 6], [-9, 9, 4]]) {
      const sample = quantizationMse(x, [x.length], paramsFromRange({ lo, hi, bits })).mse;
      expect(histogramRangeMse(h, lo, hi, bits) / sample).toBeCloseTo(1, 2);
    }
  });

  it('gives a 0-bit channel the squared distance to its constant', () => {
    expect(histogramRangeMse({ counts: [1, 1], edges: [-1, 0, 1] }, -1, 1, 0, 0.5)).toBeCloseTo(1 / 3 + 0.25, 7);
  });
});
