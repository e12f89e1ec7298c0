import { SeededRandom } from '@nibble/quant';
import { allocateBits } from './allocate';
import { allocateByError, curveError, type ErrorCurveSet } from './allocate-by-error';

/** The exact optimum by dynamic programming over channels and bits spent (the reference). */
function bruteForce(curves: ErrorCurveSet, total: number): number {
  const W = curves.widths;
  let best = new Map<number, number>([[0, 0]]);
  for (const e of curves.errors) {
    const next = new Map<number, number>();
    for (const [spent, err] of best) {
      W.forEach((w, k) => {
        const s = spent + w;
        if (s > total) return;
        const v = err + e[k];
        if (!(next.get(s)! <= v)) next.set(s, v);
      });
    }
    best = next;
  }
  return best.get(total)!;
}

const WIDTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/** Rounding-plus-clipping-like curves: sigma^2 4^-M times a random convex factor, falling with M. */
function randomCurves(seed: number, C: number): ErrorCurveSet {
  const r = new SeededRandom(seed);
  return {
    widths: WIDTHS,
    errors: Array.from({ length: C }, () => {
      const s = Math.exp(2 * r.normal(0, 1));
      const floor = 1e-4 * r.uniform();
      return WIDTHS.map((m) => s * 4 ** -m * (1 + 0.3 * r.uniform() / (m + 1)) + floor * s);
    }),
  };
}

describe('allocateByError', () => {
  it.each([1, 2, 3, 4, 5])('spends exactly the budget and reaches the dynamic-programming optimum (seed %i)', (seed) => {
    const curves = randomCurves(seed, 7);
    for (const budget of [2, 3, 3.5, 4]) {
      const a = allocateByError(curves, { budget });
      const total = Math.floor(budget * 7);
      expect(a.bits.reduce((s, b) => s + b, 0)).toBe(total);
      expect(a.error).toBeCloseTo(curveError(curves, a.bits), 12);
      expect(a.error).toBeLessThanOrEqual(bruteForce(curves, total) * (1 + 1e-9));
    }
  });

  it('beats or equals the sigma^(2/3) rule on the error both are judged by', () => {
    for (let seed = 10; seed < 20; seed++) {
      const curves = randomCurves(seed, 64);
      const sigma = curves.errors.map((e) => Math.sqrt(e[0]));
      for (const budget of [3, 4]) {
        const rule = allocateBits(sigma, { budget });
        const ours = allocateByError(curves, { budget });
        expect(ours.meanBits).toBe(budget);
        expect(ours.error).toBeLessThanOrEqual(curveError(curves, rule.bits) * (1 + 1e-12));
      }
    }
  });

  it('on pure rounding noise gives log2-spread widths: a channel twice as wide gets one bit more', () => {
    const curves: ErrorCurveSet = { widths: WIDTHS, errors: [1, 2, 4, 8].map((s) => WIDTHS.map((m) => (s * s) / (3 * 4 ** m))) };
    expect(Array.from(allocateByError(curves, { budget: 4.5 }).bits)).toEqual([3, 4, 5, 6]);
  });

  it('keeps to min/max bits, and refuses a budget the curves cannot meet', () => {
    const curves = randomCurves(30, 16);
    const a = allocateByError(curves, { budget: 4, minBits: 3, maxBits: 5 });
    expect(Math.min(...a.bits)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...a.bits)).toBeLessThanOrEqual(5);
    expect(a.meanBits).toBe(4);
    const narrow: ErrorCurveSet = { widths: [2, 3, 4], errors: curves.errors.map((e) => e.slice(2, 5)) };
    expect(() => allocateByError(narrow, { budget: 5, name: 'conv1' })).toThrow(expect.objectContaining({ code: 'E_BUDGET', message: expect.stringContaining("'conv1'") }));
  });
});
