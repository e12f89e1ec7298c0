import { NibbleError } from '@nibble/ir';
import { SeededRandom, paramsFromRange, quantizationMse } from '@nibble/quant';
import { aciqAlpha, aciqAlphaTable, aciqRange, gaussClipMse, laplaceClipMse } from './aciq';
import { goldenSection } from './minimize';
import { clipStatsOf } from './sample-stats';
import { erfc } from './special';

// METHOD.md's table: alpha*/b (Laplace) and alpha*/s (Gauss), M = 1..8.
const LAPLACE = [1.8628, 2.8307, 3.8972, 5.0286, 6.2048, 7.4131, 8.6456, 9.8968];
const GAUSS = [1.2399, 1.7106, 2.1516, 2.5591, 2.9362, 3.2869, 3.6151, 3.924];

describe('ACIQ alpha table', () => {
  it("reproduces METHOD.md's table to the 4 decimals given", () => {
    const lap = aciqAlphaTable('laplace', 8);
    const gau = aciqAlphaTable('gauss', 8);
    for (let m = 0; m < 8; m++) {
      expect(lap[m].toFixed(4)).toBe(LAPLACE[m].toFixed(4));
      expect(gau[m].toFixed(4)).toBe(GAUSS[m].toFixed(4));
    }
  });

  it('solves the stationarity conditions up to 17 bits (independent check by derivative)', () => {
    for (let M = 1; M <= 17; M++) {
      const a = aciqAlpha('laplace', M);
      // 2a / (3 * 4^M) = 2 e^{-a}
      expect(Math.abs((a / (3 * 4 ** M)) / Math.exp(-a) - 1)).toBeLessThan(1e-6);
      const g = aciqAlpha('gauss', M);
      // d/da: 2a erfc(a / sqrt 2) - 2 sqrt(2/pi) e^{-a^2/2} + 2a / (3 * 4^M) = 0
      const clip = 2 * g * erfc(g / Math.SQRT2) - 2 * Math.sqrt(2 / Math.PI) * Math.exp((-g * g) / 2);
      const round = (2 * g) / (3 * 4 ** M);
      expect(Math.abs(clip + round) / round).toBeLessThan(1e-5);
    }
    const lap = aciqAlphaTable('laplace', 17);
    for (let m = 1; m < 17; m++) expect(lap[m]).toBeGreaterThan(lap[m - 1]);
  });

  it('one-sided: the half-Laplace MSE b^2 e^{-a/b} + a^2/(24 * 4^M) has the M+1 minimiser', () => {
    for (let M = 1; M <= 8; M++) {
      const half = goldenSection((a) => Math.exp(-a) + (a * a) / (24 * 4 ** M), 0, 40, 1e-12).x;
      expect(half).toBeCloseTo(aciqAlpha('laplace', M + 1), 6);
    }
  });

  it('scales linearly with b and s', () => {
    const m1 = goldenSection((a) => laplaceClipMse(a, 0.37, 4), 0, 20, 1e-12).x;
    expect(m1 / 0.37).toBeCloseTo(aciqAlpha('laplace', 4), 6);
    const m2 = goldenSection((a) => gaussClipMse(a, 2.5, 3), 0, 40, 1e-12).x;
    expect(m2 / 2.5).toBeCloseTo(aciqAlpha('gauss', 3), 6);
  });

  it('has clipping-noise formulas that agree with numerical integration', () => {
    // 2 * integral_a^inf (x - a)^2 p(x) dx by Simpson's rule
    const tail = (p: (x: number) => number, a: number) => {
      const n = 20000, top = a + 60, h = (top - a) / n;
      let s = 0;
      for (let i = 0; i <= n; i++) {
        const x = a + i * h;
        s += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * (x - a) ** 2 * p(x);
      }
      return (2 * s * h) / 3;
    };
    const lap = (x: number) => 0.5 * Math.exp(-Math.abs(x));
    const gau = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
    for (const a of [0.5, 2, 4]) {
      const round = (a * a) / (3 * 4 ** 4);
      expect(laplaceClipMse(a, 1, 4) - round).toBeCloseTo(tail(lap, a), 10);
      expect(gaussClipMse(a, 1, 4) - round).toBeCloseTo(tail(gau, a), 10);
    }
  });

  it('rejects bit-widths it has no row for', () => {
    for (const bits of [0, 18, 1.5]) expect(() => aciqAlpha('laplace', bits)).toThrow(NibbleError);
  });
});

describe('aciqRange', () => {
  const stats = { mean: 0.2, meanAbsDev: 0.5, std: 0.7, min: -3, max: 6 };

  it('signed: lo = max(min, mu - a), width 2a', () => {
    const r = aciqRange(stats, { prior: 'laplace', bits: 4 });
    const a = aciqAlpha('laplace', 4) * 0.5;
    expect(r.alpha).toBeCloseTo(a, 12);
    expect(r.lo).toBeCloseTo(0.2 - a, 12);
    expect(r.hi).toBeCloseTo(0.2 + a, 12);
    const wideMin = aciqRange({ ...stats, min: -1 }, { prior: 'laplace', bits: 4 });
    expect(wideMin.lo).toBe(-1);
    expect(wideMin.hi).toBeCloseTo(-1 + 2 * a, 12);
    const g = aciqRange(stats, { prior: 'gauss', bits: 3 });
    expect(g.hi - g.lo).toBeCloseTo(2 * aciqAlpha('gauss', 3) * 0.7, 12);
  });

  it('one-sided: lo = 0, hi = max(mu, 0) + alpha_{M+1} b', () => {
    const r = aciqRange(stats, { prior: 'laplace', bits: 4, oneSided: true });
    expect(r.lo).toBe(0);
    expect(r.hi).toBeCloseTo(0.2 + aciqAlpha('laplace', 5) * 0.5, 12);
    const neg = aciqRange({ ...stats, mean: -1 }, { prior: 'laplace', bits: 4, oneSided: true });
    expect(neg.hi).toBeCloseTo(aciqAlpha('laplace', 5) * 0.5, 12);
  });

  it('capAtObserved keeps the range inside [min, max]', () => {
    const tight = { mean: 0, meanAbsDev: 1, std: 1, min: -2, max: 2.5 };
    expect(aciqRange(tight, { prior: 'laplace', bits: 4 }).hi).toBeGreaterThan(2.5);
    const c = aciqRange(tight, { prior: 'laplace', bits: 4, capAtObserved: true });
    expect(c).toMatchObject({ lo: -2, hi: 2.5 });
    expect(aciqRange(tight, { prior: 'laplace', bits: 4, oneSided: true, capAtObserved: true }).hi).toBe(2.5);
  });

  it('gives a 0-bit channel its mean, and rejects NaN statistics', () => {
    expect(aciqRange(stats, { prior: 'laplace', bits: 0 })).toMatchObject({ lo: 0.2, hi: 0.2 });
    expect(aciqRange({ ...stats, mean: -0.5 }, { prior: 'gauss', bits: 0, oneSided: true })).toMatchObject({ lo: 0, hi: 0 });
    expect(() => aciqRange({ ...stats, std: NaN }, { prior: 'gauss', bits: 4 })).toThrow(expect.objectContaining({ code: 'E_NUMERIC' }));
    expect(() => aciqRange(stats, { prior: 'gauss', bits: 17 })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });
});

describe('ACIQ on samples (acceptance)', () => {
  const mse = (x: Float64Array, lo: number, hi: number, bits: number) => quantizationMse(x, [x.length], paramsFromRange({ lo, hi, bits })).mse;

  /** Brute force over the same family of ranges on the samples: a grid over a, then golden section around the best. */
  function bruteForce(x: Float64Array, bits: number): number {
    const s = clipStatsOf(x);
    const amax = Math.max(s.max - s.mean, s.mean - s.min);
    const at = (a: number) => {
      const lo = Math.max(s.min, s.mean - a);
      return mse(x, lo, lo + 2 * a, bits);
    };
    let best = Infinity;
    let bestA = 0;
    const n = 80;
    for (let i = 1; i <= n; i++) {
      const v = at((amax * i) / n);
      if (v < best) { best = v; bestA = (amax * i) / n; }
    }
    const refined = goldenSection(at, bestA - amax / n, bestA + amax / n, amax * 1e-5);
    // the measured MSE is slightly jagged (zero-point rounding): sample around the refined point too
    for (let k = -5; k <= 5; k++) best = Math.min(best, at(refined.x + (k * amax) / (n * 20)));
    return Math.min(best, refined.fx);
  }

  for (const prior of ['laplace', 'gauss'] as const) {
    const x = new SeededRandom(prior === 'laplace' ? 1 : 2).fill(100000, (g) => (prior === 'laplace' ? g.laplace(0, 1) : g.normal(0, 1)));
    const stats = clipStatsOf(x);
    for (const bits of [2, 3, 4]) {
      it(`${prior} at ${bits} bits: within 2% of the best clip and below min/max`, () => {
        const r = aciqRange(stats, { prior, bits });
        const e = mse(x, r.lo, r.hi, bits);
        const best = bruteForce(x, bits);
        expect(e / best).toBeLessThan(1.02);
        expect(e / best).toBeGreaterThanOrEqual(0.999);
        expect(e).toBeLessThan(mse(x, stats.min, stats.max, bits));
      });
    }
  }
});
