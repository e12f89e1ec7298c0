import { SeededRandom } from '@nibble/quant';
import { histogramOf } from './histogram';
import { klRange } from './kl';

describe('klRange (entropy calibration)', () => {
  const uniform = new SeededRandom(5).fill(200000, (r) => r.uniform());

  it('keeps the whole range of uniform data, where P and Q agree only without clipping', () => {
    const h = histogramOf(uniform, 1024);
    for (const mode of ['one-sided', 'asymmetric'] as const) {
      const r = klRange(h, { bits: 4, mode });
      expect(r.lo).toBe(0);
      expect(r.hi).toBeGreaterThan(0.99);
    }
    const sym = klRange(histogramOf(Array.from(uniform, (v) => 2 * v - 1), 2048), { bits: 4, mode: 'symmetric' });
    expect(sym.hi).toBeGreaterThan(0.98);
    expect(sym.lo).toBe(-sym.hi);
  });

  it('clips a negligible far cluster and keeps a heavy one', () => {
    // Body |N(0, 1)|; a uniform body would not do: Q spreads each group's mass
    // evenly, so a flat body looks lossless at any width.
    const body = new SeededRandom(6).fill(200000, (r) => Math.abs(r.normal(0, 1)));
    const withOutliers = (fraction: number) => {
      const x = Array.from(body);
      const n = Math.round(body.length * fraction);
      for (let i = 0; i < n; i++) x[i] = 50 + uniform[i];
      return histogramOf(x, 51 * 64, { lo: 0, hi: 51 });
    };
    const light = klRange(withOutliers(2e-5), { bits: 4, mode: 'one-sided' });
    expect(light.hi).toBeGreaterThan(2);
    expect(light.hi).toBeLessThan(6);
    const heavy = klRange(withOutliers(0.3), { bits: 4, mode: 'one-sided' });
    expect(heavy.hi).toBeGreaterThan(50);
  });

  it('one-sided ignores the ReLU zeros: same answer as on the positive part alone', () => {
    const x = new SeededRandom(8).fill(100000, (r) => r.laplace(0, 1));
    const full = histogramOf(x, 2000, { lo: -10, hi: 10 });
    const positive = histogramOf(x.filter((v) => v > 0), 1000, { lo: 0, hi: 10 });
    const a = klRange(full, { bits: 4, mode: 'one-sided' });
    const b = klRange(positive, { bits: 4, mode: 'one-sided' });
    expect(a.hi).toBeCloseTo(b.hi, 6);
  });

  it('clips less with more bits on heavy-tailed data', () => {
    const x = new SeededRandom(9).fill(100000, (r) => r.laplace(0, 1));
    const h = histogramOf(x, 2048);
    const t4 = klRange(h, { bits: 4, mode: 'symmetric' }).hi;
    const t8 = klRange(h, { bits: 8, mode: 'symmetric' }).hi;
    expect(t8).toBeGreaterThan(t4);
    expect(t4).toBeGreaterThan(2);
  });

  it('rejects 0 bits', () => {
    expect(() => klRange({ counts: [1], edges: [0, 1] }, { bits: 0 })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });
});
