import { NibbleError } from '@nibble/ir';
import { paramsFromRange, quantize, SeededRandom } from '@nibble/quant';
import { allocateBins, binsMse, midTreadRange } from './allocate-bins';

const log2Mean = (levels: ArrayLike<number>) => Array.from(levels).reduce((s, w) => s + Math.log2(w), 0) / levels.length;

function spreads(n: number, seed: number): Float64Array {
  const r = new SeededRandom(seed);
  // Log-uniform over two decades, like per-channel stds of a conv layer.
  return Float64Array.from({ length: n }, () => 10 ** (2 * r.uniform() - 1));
}

function codeOf(e: unknown): string | undefined {
  return e instanceof NibbleError ? `${e.code}:${String(e.place.option)}` : undefined;
}

describe('allocateBins (the variable-length variant)', () => {
  it('spends the budget as a mean log2 of the bins, never above it and within one bin of it', () => {
    for (const budget of [2, 3, 3.5, 4]) {
      for (const seed of [1, 2, 3]) {
        const a = spreads(64, seed);
        const r = allocateBins(a, { budget, minLevels: 2, maxLevels: 256 });
        expect(r.withinBudget).toBe(true);
        expect(log2Mean(r.levels)).toBeCloseTo(r.meanLog2, 12);
        expect(r.meanLog2).toBeLessThanOrEqual(budget + 1e-9);
        // Adding one bin to the channel where it is cheapest would break the budget (or no channel can grow).
        const cheapest = Math.min(...Array.from(r.levels, (w) => (w < 256 ? Math.log2((w + 1) / w) : Infinity)));
        expect(r.meanLog2 + cheapest / a.length).toBeGreaterThan(budget - 1e-9);
      }
    }
  });

  it('follows omega ~ a^(2/3): the continuous optimum 2^B a^(2/3) / geomean(a^(2/3)) to within rounding', () => {
    const a = spreads(48, 7);
    const budget = 4;
    const r = allocateBins(a, { budget, minLevels: 1, maxLevels: 65536 });
    // float64 reference: geometric mean of a^(2/3), so that mean log2 omega* = B exactly.
    const logs = Array.from(a, (x) => (2 / 3) * Math.log2(x));
    const g = logs.reduce((s, x) => s + x, 0) / logs.length;
    for (let i = 0; i < a.length; i++) {
      const ideal = 2 ** (budget + logs[i] - g);
      // Rounding moves a channel by at most half a bin; the bisection's target and the fill by a little more.
      expect(Math.abs(Math.log2(r.levels[i] / ideal))).toBeLessThan(0.45);
    }
    // Larger spread, never fewer bins.
    const order = Array.from(a.keys()).sort((i, j) => a[i] - a[j]);
    for (let k = 1; k < order.length; k++) expect(r.levels[order[k]]).toBeGreaterThanOrEqual(r.levels[order[k - 1]] - 1);
  });

  it('beats every uniform grid of the same rate on the objective sum a^2 / (3 omega^2)', () => {
    const a = spreads(32, 11);
    const r = allocateBins(a, { budget: 3 });
    const uniform = new Float64Array(a.length).fill(8); // 2^3: rate exactly 3
    expect(binsMse(a, r.levels)).toBeLessThan(binsMse(a, uniform));
  });

  it('equal spreads get 2^B bins each (a power of two when the budget is whole)', () => {
    const r = allocateBins(new Float64Array(10).fill(0.3), { budget: 4 });
    expect(Array.from(r.levels)).toEqual(new Array(10).fill(16));
    expect(r.meanLog2).toBe(4);
  });

  it('respects min-levels and max-levels, and says when the budget is out of reach', () => {
    const a = Float64Array.of(0, 1e-6, 1, 100);
    const r = allocateBins(a, { budget: 3, minLevels: 3, maxLevels: 20 });
    for (const w of r.levels) {
      expect(w).toBeGreaterThanOrEqual(3);
      expect(w).toBeLessThanOrEqual(20);
    }
    expect(r.levels[0]).toBe(3);
    const over = allocateBins(a, { budget: 8, maxLevels: 16 });
    // A channel of zero spread gains nothing from bins: it keeps the fewest.
    expect(Array.from(over.levels)).toEqual([2, 16, 16, 16]);
    expect(over.warning).toMatch(/max-levels 16/);
  });

  it('refuses bad options with typed errors naming the option', () => {
    const a = Float64Array.of(1, 2);
    const cases: [() => unknown, string][] = [
      [() => allocateBins(a, { budget: 1, minLevels: 4 }), 'E_BUDGET:budget'],
      [() => allocateBins(a, { budget: -1 }), 'E_BAD_OPTION:budget'],
      [() => allocateBins(a, { budget: 3, minLevels: 0 }), 'E_BAD_OPTION:min-levels'],
      [() => allocateBins(a, { budget: 3, minLevels: 8, maxLevels: 4 }), 'E_BAD_OPTION:max-levels'],
    ];
    for (const [f, want] of cases) {
      let got: string | undefined;
      try { f(); } catch (e) { got = codeOf(e); }
      expect(got).toBe(want);
    }
    expect(() => allocateBins(Float64Array.of(1, NaN), { budget: 3 })).toThrow(/channel 1 statistic is NaN/);
  });
});

describe('midTreadRange (the mid-tread grid of omega bins)', () => {
  /** float64 reference: omega bins of width D tiling [lo, hi], each value to its bin's centre. */
  function binCentre(x: number, lo: number, hi: number, omega: number): number {
    const d = (hi - lo) / omega;
    const k = Math.min(omega - 1, Math.max(0, Math.floor((x - lo) / d)));
    return lo + (k + 0.5) * d;
  }

  it('signed: the ends move in by half a bin, and quantize on that range is the bin-centre quantizer', () => {
    const lo = -1.25;
    const hi = 1.25;
    for (const omega of [3, 5, 7, 11]) {
      const r = midTreadRange(lo, hi, omega, false);
      expect(r.step).toBeCloseTo((hi - lo) / omega, 15);
      expect(r.lo).toBeCloseTo(lo + r.step / 2, 15);
      const p = paramsFromRange({ lo: r.lo, hi: r.hi, bits: Math.ceil(Math.log2(omega)), levels: omega });
      expect(p.scale[0]).toBeCloseTo(r.step, 6);
      // Odd omega on a symmetric range: zero is the middle level, every value lands on its bin's centre.
      const xs = Array.from({ length: 401 }, (_, i) => -1.5 + (3 * i) / 400).filter((x) => Math.abs(((x - lo) / r.step) % 1) > 1e-6);
      const q = quantize(xs, [xs.length], p);
      xs.forEach((x, i) => expect((q[i] - p.zeroPoint[0]) * p.scale[0]).toBeCloseTo(binCentre(x, lo, hi, omega), 5));
      expect(Math.max(...q) - Math.min(...q)).toBe(omega - 1);
    }
  });

  it('one-sided: level 0 stays on zero, the top level half a bin below the clip', () => {
    const r = midTreadRange(0, 6, 4, true);
    expect(r.lo).toBe(0);
    expect(r.step).toBeCloseTo(6 / 3.5, 15);
    expect(r.hi).toBeCloseTo(3 * r.step, 12);
    const p = paramsFromRange({ lo: r.lo, hi: r.hi, bits: 2, levels: 4 });
    expect(p.zeroPoint[0]).toBe(0);
  });

  it('leaves a constant or a 1-level channel alone', () => {
    expect(midTreadRange(2, 2, 5, false)).toEqual({ lo: 2, hi: 2, step: 0 });
    expect(midTreadRange(-1, 1, 1, false)).toEqual({ lo: -1, hi: 1, step: 0 });
  });
});
