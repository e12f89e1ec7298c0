import { SeededRandom, paramsFromRange, quantizationMse } from '@nibble/quant';
import { aciqRange } from './aciq';
import { histogramOf, reluHistogram } from './histogram';
import { histogramRangeMse, rangeMseAndBoundOf } from './histogram-mse';
import { gridThenGolden } from './minimize';
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

  it('the clipping bound is below the error everywhere and the scan that uses it picks the same range with fewer measurements', () => {
    const r = new SeededRandom(31);
    for (let t = 0; t < 12; t++) {
      const y = r.fill(20000, (q) => (t % 3 === 0 ? q.laplace(0.3, 1) : t % 3 === 1 ? Math.max(0, q.normal(0.5, 2)) : q.uniform() * 4 - 1));
      const g = histogramOf(y, 512 + 256 * t);
      const m = rangeMseAndBoundOf(g);
      const lo0 = Math.min(0, g.edges[0]);
      const hi0 = g.edges[g.edges.length - 1];
      const bits = 2 + (t % 5);
      const mse = (f: number) => m.mse(f * lo0, f * hi0, bits);
      const bound = (f: number) => m.bound(f * lo0, f * hi0, bits);
      for (let i = 1; i <= 200; i++) expect(bound(i / 200)).toBeLessThanOrEqual(mse(i / 200) * (1 + 1e-12) + 1e-15);
      const plain = gridThenGolden(mse, 0.01, 1, 100, 1e-6);
      const pruned = gridThenGolden(mse, 0.01, 1, 100, 1e-6, bound);
      expect(pruned.x).toBe(plain.x);
      expect(pruned.fx).toBe(plain.fx);
      expect(pruned.evaluations).toBeLessThan(plain.evaluations);
    }
  });
});
