import { paramsFromRange, SeededRandom } from '@nibble/quant';
import { histogramOf } from './histogram';
import { histogramRangeMse } from './histogram-mse';
import { clippingError, LEAST_ERROR_CANDIDATES, leastErrorCurve, leastErrorRange, pointMasses, weightedError } from './least-error';

/*
 * References in float64, independent of the histogram integration: every
 * sample quantized one by one on the grid paramsFromRange gives (scale,
 * zero point; the grid is what quantize writes), the squared errors
 * averaged; clipping error as the mean of (x - clamp(x, lo, hi))^2.
 */
function bruteMse(x: ArrayLike<number>, lo: number, hi: number, bits: number): number {
  const p = paramsFromRange({ lo, hi, bits });
  const s = p.scale[0];
  const zp = p.zeroPoint[0];
  const qmax = 2 ** bits - 1;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const q = Math.min(qmax, Math.max(0, Math.round(x[i] / s) + zp));
    sum += (x[i] - Math.fround((q - zp) * s)) ** 2;
  }
  return sum / x.length;
}

function bruteClip(x: ArrayLike<number>, lo: number, hi: number): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (x[i] - Math.min(hi, Math.max(lo, x[i]))) ** 2;
  return sum / x.length;
}

const stats = (x: ArrayLike<number>) => {
  const a = Array.from(x);
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const mad = a.reduce((s, v) => s + Math.abs(v - mean), 0) / a.length;
  const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / (a.length - 1));
  return { mean, meanAbsDev: mad, std, min: Math.min(...a), max: Math.max(...a) };
};

describe('pointMasses: samples as an exact histogram', () => {
  const x = new SeededRandom(1).fill(3000, (r) => r.laplace(0.1, 0.4));

  it('measures the same error as quantizing every sample', () => {
    const h = pointMasses(x);
    for (const [lo, hi, bits] of [[-1, 1, 4], [-0.5, 2, 3], [-3, 3, 8], [-0.2, 0.3, 2]] as const) {
      expect(histogramRangeMse(h, lo, hi, bits)).toBeCloseTo(bruteMse(x, lo, hi, bits), 12);
    }
  });

  it('keeps repeated values as one point mass with their count', () => {
    const h = pointMasses([2, -1, 2, 2, 0.5]);
    expect(Array.from(h.edges)).toEqual([-1, -1, 0.5, 0.5, 2, 2]);
    expect(Array.from(h.counts)).toEqual([1, 0, 1, 0, 3]);
  });
});

describe('clippingError', () => {
  const x = new SeededRandom(2).fill(5000, (r) => r.normal(0, 1));

  it('is the mean squared distance to the clamp, on point masses exactly and on bins closely', () => {
    for (const [lo, hi] of [[-1, 1], [-0.3, 2.2], [-5, 5]] as const) {
      const ref = bruteClip(x, lo, hi);
      expect(clippingError(pointMasses(x), lo, hi)).toBeCloseTo(ref, 12);
      expect(clippingError(histogramOf(x, 4096), lo, hi)).toBeCloseTo(ref, 3);
    }
  });

  it('equals the plain sum over every bin (prefix sums of moments instead, so to 1e-12, not to the last bit)', () => {
    // The definition, every bin visited in order (what clippingError computed before it used prefix sums).
    const plain = (h: { counts: ArrayLike<number>; edges: ArrayLike<number> }, lo: number, hi: number): number => {
      let sum = 0;
      let total = 0;
      for (let i = 0; i < h.counts.length; i++) {
        const m = h.counts[i];
        total += m;
        if (m === 0) continue;
        const [a, b] = [h.edges[i], h.edges[i + 1]];
        if (b > hi) sum += a === b ? m * (a - hi) ** 2 : ((m / (b - a)) * ((b - hi) ** 3 - (Math.max(a, hi) - hi) ** 3)) / 3;
        if (a < lo) sum += a === b ? m * (lo - a) ** 2 : ((m / (b - a)) * ((lo - a) ** 3 - (lo - Math.min(b, lo)) ** 3)) / 3;
      }
      return total === 0 ? 0 : sum / total;
    };
    const rand = new SeededRandom(7);
    // Sparse bins (most empty), point masses, and one wide bin that spans both ends of narrow ranges.
    const sparse = histogramOf(rand.fill(300, (r) => r.laplace(0, 0.5)), 2048);
    const wide = { counts: [3, 0, 5, 1, 0, 2], edges: [-2, -1.5, -1, 1, 1, 1, 3] };
    for (const h of [sparse, pointMasses(x.subarray(0, 400)), wide]) {
      for (let t = 0; t < 200; t++) {
        const lo = -3 * rand.uniform();
        const hi = lo + 4 * rand.uniform();
        const ref = plain(h, lo, hi);
        expect(Math.abs(clippingError(h, lo, hi) - ref)).toBeLessThanOrEqual(1e-12 * Math.max(ref, 1e-3));
      }
      const ref = plain(h, 0.5, 0.5);
      expect(Math.abs(clippingError(h, 0.5, 0.5) - ref)).toBeLessThanOrEqual(1e-12 * ref);
    }
  });

  it('weightedError adds it (w - 1) times to the MSE', () => {
    const h = pointMasses(x);
    const e1 = weightedError(h, -1, 1, 4, 0);
    expect(e1).toBeCloseTo(bruteMse(x, -1, 1, 4), 12);
    expect(weightedError(h, -1, 1, 4, 0, 5)).toBeCloseTo(e1 + 4 * bruteClip(x, -1, 1), 12);
  });
});

describe('leastErrorRange', () => {
  const laplace = new SeededRandom(3).fill(5000, (r) => r.laplace(0, 1));

  it('picks the least measured error among the candidates, each capped at the observed range', () => {
    const h = histogramOf(laplace, 2048);
    const s = stats(laplace);
    const r = leastErrorRange(h, s, { bits: 4 });
    const errors = LEAST_ERROR_CANDIDATES.map((c) => r.errors[c]!);
    expect(r.mse).toBe(Math.min(...errors));
    expect(r.mse).toBeCloseTo(histogramRangeMse(h, r.lo, r.hi, 4), 12);
    expect(r.lo).toBeGreaterThanOrEqual(s.min);
    expect(r.hi).toBeLessThanOrEqual(s.max);
    // Heavy tails at 4 bits: clipping wins clearly over min/max.
    expect(r.mse).toBeLessThan(0.5 * r.errors.minmax!);
    expect(r.hi).toBeLessThan(0.6 * s.max);
  });

  it('never goes past the observed range where ACIQ would (light tails: uniform)', () => {
    const u = new SeededRandom(4).fill(2000, (r) => r.uniform());
    const s = stats(u);
    const r = leastErrorRange(pointMasses(u), s, { bits: 4, oneSided: true, candidates: ['laplace', 'gauss'] });
    expect(r.hi).toBeLessThanOrEqual(s.max);
    expect(r.lo).toBe(0);
  });

  it('on a uniform channel lands at the analytic optimum of rounding plus clipping noise', () => {
    // U(0, 1) clipped at c, 4 bits: c^2 / (12 * 15^2) + (1 - c)^3 / 3, least where c / 1350 = (1 - c)^2.
    const analytic = (c: number) => c ** 2 / (12 * 225) + (1 - c) ** 3 / 3;
    let a = 0.5;
    let b = 1;
    for (let i = 0; i < 60; i++) { const m = (a + b) / 2; if (m / 1350 < (1 - m) ** 2) a = m; else b = m; }
    const u = new SeededRandom(5).fill(20000, (r) => r.uniform());
    const r = leastErrorRange(pointMasses(u), stats(u), { bits: 4, oneSided: true });
    // The error is flat near its minimum (and jagged by the grid's nudges): the range within 1.5 %.
    expect(Math.abs(r.hi - a)).toBeLessThan(0.015);
    expect(r.mse / analytic(a)).toBeGreaterThan(0.95);
    expect(r.mse / analytic(a)).toBeLessThan(1.03);
    expect(r.mse).toBeLessThan(r.errors.minmax!);
  });

  it('one-sided: measures on max(x, 0) (the ReLU zeros are exact)', () => {
    const s = stats(laplace);
    const r = leastErrorRange(pointMasses(laplace), s, { bits: 4, oneSided: true });
    expect(r.lo).toBe(0);
    expect(r.mse).toBeCloseTo(bruteMse(laplace.map((v) => Math.max(v, 0)), 0, r.hi, 4), 10);
  });

  it('counts clipping more with a larger clip weight, so the range never narrows', () => {
    const h = pointMasses(laplace);
    const s = stats(laplace);
    let last = 0;
    for (const w of [1, 2, 4, 16, 64]) {
      const r = leastErrorRange(h, s, { bits: 4, clipWeight: w });
      expect(r.hi - r.lo).toBeGreaterThanOrEqual(last - 1e-9);
      last = r.hi - r.lo;
    }
  });

  it('rejects 0 bits', () => {
    expect(() => leastErrorRange(pointMasses([1, 2]), stats([1, 2]), { bits: 0 })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });
});

describe('leastErrorCurve', () => {
  it('falls with every added bit; at 0 bits it is the variance about the mean', () => {
    const x = new SeededRandom(6).fill(4000, (r) => r.normal(1, 2));
    const s = stats(x);
    const curve = leastErrorCurve(pointMasses(x), s, [0, 1, 2, 3, 4, 5, 6]);
    const variance = (s.std ** 2 * (x.length - 1)) / x.length;
    expect(curve[0]).toBeCloseTo(variance, 6);
    for (let k = 1; k < curve.length; k++) expect(curve[k]).toBeLessThan(curve[k - 1]);
    // Far from clipping, each bit divides the rounding error by about 4.
    expect(curve[6] / curve[5]).toBeGreaterThan(0.15);
    expect(curve[6] / curve[5]).toBeLessThan(0.4);
  });
});
