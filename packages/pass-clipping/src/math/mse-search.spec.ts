import { SeededRandom, paramsFromRange, quantizationMse } from '@nibble/quant';
import { aciqRange } from './aciq';
import { histogramOf, reluHistogram } from './histogram';
import { histogramRangeMse } from './histogram-mse';
import { mseSearchRange } from './mse-search';
import { clipStatsOf } from './sample-stats';

describe('mseSearchRange', () => {
  const x = new SeededRandom(12).fill(100000, (r) => r.laplace(0, 1));
  const h = histogramOf(x, 4096);

  it('finds the global minimum of its objective (dense scan as reference)', () => {
    for (const mode of ['symmetric', 'asymmetric', 'one-sided'] as const) {
      const r = mseSearchRange(h, { bits: 3, mode });
      const measured = mode === 'one-sided' ? reluHistogram(h) : h;
      let best = Infinity;
      for (let i = 1; i <= 400; i++) {
        const f = i / 400;
        const lo = mode === 'one-sided' ? 0 : mode === 'symmetric' ? -f * Math.max(-h.edges[0], h.edges[h.edges.length - 1]) : f * h.edges[0];
        const hi = mode === 'symmetric' ? -lo : f * h.edges[h.edges.length - 1];
        best = Math.min(best, histogramRangeMse(measured, lo, hi, 3));
      }
      expect(r.mse).toBeLessThanOrEqual(best * (1 + 1e-6));
      if (mode === 'one-sided') expect(r.lo).toBe(0);
    }
  });

  it('matches ACIQ on Laplace samples, where ACIQ is near optimal', () => {
    const stats = clipStatsOf(x);
    const sample = (lo: number, hi: number, bits: number) => quantizationMse(x, [x.length], paramsFromRange({ lo, hi, bits })).mse;
    for (const bits of [2, 3, 4]) {
      const s = mseSearchRange(h, { bits, mode: 'symmetric' });
      const a = aciqRange(stats, { prior: 'laplace', bits });
      expect(sample(s.lo, s.hi, bits)).toBeLessThan(sample(a.lo, a.hi, bits) * 1.005);
    }
  });

  it('clips uniform data where the analytic optimum says: f = 30/31 at 4 bits', () => {
    // MSE(f) = f^3 / (12 * 15^2) + (1 - f)^3 / 3 on U(0, 1) with grid [0, f]:
    // zero derivative at (1 - f) = f / 30.
    const r = mseSearchRange({ counts: [1], edges: [0, 1] }, { bits: 4 });
    expect(r.fraction).toBeCloseTo(30 / 31, 2);
    expect(r.mse).toBeCloseTo(r.fraction ** 3 / 2700 + (1 - r.fraction) ** 3 / 3, 6);
  });
});
