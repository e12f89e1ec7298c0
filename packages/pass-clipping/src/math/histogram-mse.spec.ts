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

  it('equals a bin-by-bin sweep, cutting each bin at every decision threshold (wide bins, point masses on thresholds)', () => {
    // The definition written plainly: every occupied bin cut at the midpoints between levels, each
    // piece integrated about its level; a point mass exactly on a midpoint is as far from either level.
    const sweep = (h: { counts: ArrayLike<number>; edges: ArrayLike<number> }, lo: number, hi: number, bits: number): number => {
      const p = paramsFromRange({ lo, hi, bits });
      const s = p.scale[0];
      const zp = p.zeroPoint[0];
      const levels = Array.from({ length: 2 ** bits }, (_, k) => toFloat32((k - zp) * s));
      const cuts = levels.slice(1).map((v, k) => (levels[k] + v) / 2);
      const levelOf = (x: number) => { let k = 0; while (k < cuts.length && cuts[k] <= x) k++; return k; };
      let sum = 0;
      let total = 0;
      for (let i = 0; i < h.counts.length; i++) {
        const m = h.counts[i];
        total += m;
        if (m === 0) continue;
        const a = h.edges[i];
        const b = h.edges[i + 1];
        if (a === b) { sum += m * (a - levels[levelOf(a)]) ** 2; continue; }
        const points = [a, ...cuts.filter((t) => t > a && t < b), b];
        for (let j = 0; j + 1 < points.length; j++) {
          const g = levels[levelOf(points[j])];
          sum += ((m / (b - a)) * ((points[j + 1] - g) ** 3 - (points[j] - g) ** 3)) / 3;
        }
      }
      return sum / total;
    };
    const rand = new SeededRandom(11);
    const dense = histogramOf(rand.fill(20000, (r) => r.laplace(0.2, 0.7)), 2048);
    // A point mass on the midpoint between the two levels round 2 of the grid for [-1, 3] at 3 bits.
    const p3 = paramsFromRange({ lo: -1, hi: 3, bits: 3 });
    const level = (k: number) => toFloat32((k - p3.zeroPoint[0]) * p3.scale[0]);
    const onCut = (level(5) + level(6)) / 2;
    const mixed = { counts: [3, 0, 5, 1, 0, 2, 4], edges: [-2, -1.5, -1, 1, 1, 1, onCut, onCut] };
    for (const h of [dense, mixed]) {
      for (let t = 0; t < 100; t++) {
        const lo = -2.5 * rand.uniform();
        const hi = 0.05 + 3 * rand.uniform();
        const bits = 1 + Math.floor(rand.uniform() * 6);
        const ref = sweep(h, lo, hi, bits);
        expect(Math.abs(histogramRangeMse(h, lo, hi, bits) - ref)).toBeLessThanOrEqual(1e-11 * ref);
      }
      expect(onCut).toBeGreaterThan(1);
      expect(histogramRangeMse(mixed, -1, 3, 3)).toBeCloseTo(sweep(mixed, -1, 3, 3), 12);
    }
  });
});
