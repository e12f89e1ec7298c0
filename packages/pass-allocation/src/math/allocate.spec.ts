import { NibbleError } from '@nibble/ir';
import { SeededRandom, channelMinMax, paramsFromRange, quantizationMse } from '@nibble/quant';
import { allocateBits, allocationMse, relativeBits } from './allocate';

const logNormal = (r: SeededRandom, n: number, sigma: number) => r.fill(n, (g) => Math.exp(g.normal(0, sigma)));

describe('allocateBits', () => {
  it('meets integer budgets to 0.01 on realistic per-channel spreads (C = 16..512), never above', () => {
    const r = new SeededRandom(21);
    for (const C of [16, 24, 64, 100, 256, 512]) {
      for (const sigma of [0.3, 0.7, 1.2]) {
        for (const budget of [2, 3, 4, 8]) {
          const a = logNormal(r, C, sigma);
          const al = allocateBits(a, { budget });
          expect(al.withinBudget).toBe(true);
          expect(al.meanBits).toBeLessThanOrEqual(budget);
          expect(budget - al.meanBits).toBeLessThanOrEqual(0.01 + 1e-12);
          expect(al.meetsBudget).toBe(true);
          expect(Math.min(...al.bits)).toBeGreaterThanOrEqual(0);
          expect(Math.max(...al.bits)).toBeLessThanOrEqual(8);
        }
      }
    }
  });

  it('lowers the model MSE sum a^2 / (3 * 4^M_i) below the uniform allocation', () => {
    const r = new SeededRandom(22);
    for (const C of [16, 64, 512]) {
      const a = logNormal(r, C, 0.8);
      for (const budget of [2, 3, 4]) {
        const al = allocateBits(a, { budget });
        expect(allocationMse(a, al.bits)).toBeLessThan(allocationMse(a, new Int32Array(C).fill(budget)));
      }
    }
  });

  it('returns widths that are the rounded Lagrange solution at the reported target', () => {
    const a = logNormal(new SeededRandom(23), 64, 0.6);
    const al = allocateBits(a, { budget: 4 });
    expect(al.method).toBe('fixed-target');
    const rel = relativeBits(a);
    for (let i = 0; i < a.length; i++) expect(al.bits[i]).toBe(Math.min(8, Math.max(0, Math.round(al.target + rel[i]))));
    // 2^M_i proportional to a_i^(2/3): doubling a channel's spread by 2^(3/2) adds one bit
    expect(relativeBits([1, 2 ** 1.5])[1] - relativeBits([1, 2 ** 1.5])[0]).toBeCloseTo(1, 12);
  });

  it('never ends above budget when the fixed-target loop oscillates (ties), and fills the spare bits', () => {
    // Equal spreads: every channel rounds together, so the mean jumps 3 <-> 4 around a 3.5 budget.
    const al = allocateBits(new Float64Array(10).fill(1), { budget: 3.5 });
    expect(al.meanBits).toBe(3.5);
    expect(al.method).toBe('bisection+fill');
    const noFill = allocateBits(new Float64Array(10).fill(1), { budget: 3.5, fill: false });
    expect(noFill.meanBits).toBe(3);
    expect(noFill.withinBudget).toBe(true);
    expect(noFill.meetsBudget).toBe(false);
    expect(noFill.warning).toMatch(/3\.000 bits for a budget of 3\.5/);
  });

  it('property: never above budget across random spreads, budgets and clamps', () => {
    const r = new SeededRandom(24);
    for (let t = 0; t < 300; t++) {
      const C = 1 + Math.floor(r.uniform() * 300);
      const a = r.fill(C, (g) => (g.uniform() < 0.1 ? 0 : Math.exp(g.normal(0, 2))));
      const minBits = Math.floor(r.uniform() * 3);
      const maxBits = minBits + 1 + Math.floor(r.uniform() * 8);
      const budget = minBits + r.uniform() * (maxBits - minBits);
      const al = allocateBits(a, { budget, minBits, maxBits });
      expect(al.meanBits).toBeLessThanOrEqual(budget + 1e-9);
      // Short of the budget by at most the loop's tolerance or one bit in total, unless
      // every channel that can use a bit (a_i > 0) is already at maxBits.
      const saturated = Array.from(a).every((v, i) => v === 0 || al.bits[i] === maxBits);
      if (!saturated) expect(budget - al.meanBits).toBeLessThan(Math.max(0.01, 1 / C) + 1e-9);
    }
  });

  it("'ceil' reproduces the older code's overshoot and says so", () => {
    const a = logNormal(new SeededRandom(25), 256, 0.7);
    const al = allocateBits(a, { budget: 4, mode: 'ceil' });
    expect(al.meanBits).toBeGreaterThan(4.2);
    expect(al.meanBits).toBeLessThan(4.8);
    expect(al.withinBudget).toBe(false);
    expect(al.warning).toMatch(/ceil allocation averages 4\.\d+ bits for a budget of 4/);
  });

  it('E_BUDGET when the minimum width exceeds the budget, unless allowOver', () => {
    let err: NibbleError | undefined;
    try { allocateBits([1, 2, 3], { budget: 1.5, minBits: 2, name: 'layer1.conv1' }); } catch (e) { err = e as NibbleError; }
    expect(err?.code).toBe('E_BUDGET');
    expect(err?.place.value).toBe('layer1.conv1');
    expect(err?.hint).toMatch(/allowOver/);
    const over = allocateBits([1, 2, 3], { budget: 1.5, minBits: 2, allowOver: true });
    expect(Array.from(over.bits)).toEqual([2, 2, 2]);
    expect(over.withinBudget).toBe(false);
    expect(over.warning).toBeDefined();
  });

  it('gives zero-spread channels the minimum and rejects bad input', () => {
    const al = allocateBits([0, 1, 1, 1], { budget: 4 });
    expect(al.bits[0]).toBe(0);
    expect(al.meanBits).toBe(4);
    expect(() => allocateBits([1, NaN], { budget: 4 })).toThrow(expect.objectContaining({ code: 'E_NUMERIC' }));
    expect(() => allocateBits([1, -1], { budget: 4 })).toThrow(expect.objectContaining({ code: 'E_NUMERIC' }));
    expect(() => allocateBits([1], { budget: 4, maxBits: 17 })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => allocateBits([1], { budget: -1 })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => allocateBits([], { budget: 4 })).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
  });

  it('a budget of maxBits with constant channels: every channel with a spread at maxBits, the constant ones at minBits, no warning', () => {
    const al = allocateBits([0, 1, 0, 2, 3], { budget: 8 });
    expect(Array.from(al.bits)).toEqual([0, 8, 0, 8, 8]);
    expect(al.meetsBudget).toBe(false);
    expect(al.warning).toBeUndefined();
    // Live channels below maxBits (equal spreads rounding together, no fill): bits are missing, and it says so.
    const short = allocateBits([0, 1, 1, 1], { budget: 5.5, fill: false });
    expect(Array.from(short.bits)).toEqual([0, 7, 7, 7]);
    expect(short.warning).toMatch(/5\.250 bits for a budget of 5\.5/);
  });

  it('budget above maxBits: every channel at maxBits, within budget, flagged as not met', () => {
    const al = allocateBits([1, 2, 3], { budget: 9 });
    expect(Array.from(al.bits)).toEqual([8, 8, 8]);
    expect(al.withinBudget).toBe(true);
    expect(al.meetsBudget).toBe(false);
    expect(al.warning).toMatch(/exceeds maxBits/);
  });
});

describe('allocation on a synthetic conv weight (std varying 10x across output channels)', () => {
  const O = 64, I = 32, K = 3;
  const shape = [O, I, K, K];
  const r = new SeededRandom(26);
  const std = r.fill(O, (g) => 0.01 * 10 ** g.uniform());
  const per = I * K * K;
  const w = new Float32Array(O * per);
  for (let o = 0; o < O; o++) for (let j = 0; j < per; j++) w[o * per + j] = r.normal(0, std[o]);
  const measuredStd = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    let s = 0, s2 = 0;
    for (let j = 0; j < per; j++) { s += w[o * per + j]; s2 += w[o * per + j] ** 2; }
    measuredStd[o] = Math.sqrt((s2 - (s * s) / per) / (per - 1));
  }

  for (const budget of [2, 3, 4]) {
    it(`${budget} bits: meets the budget and lowers the measured min/max fake-quantization MSE`, () => {
      const al = allocateBits(measuredStd, { budget });
      expect(budget - al.meanBits).toBeLessThanOrEqual(0.01);
      expect(al.meanBits).toBeLessThanOrEqual(budget);
      const { lo, hi } = channelMinMax(w, shape, 0);
      const mse = (bits: ArrayLike<number>) => quantizationMse(w, shape, paramsFromRange({ lo, hi, bits, axis: 0 })).mse;
      const allocated = mse(al.bits);
      const uniform = mse(new Int32Array(O).fill(budget));
      expect(allocated).toBeLessThan(uniform * 0.9);
    });
  }
});
