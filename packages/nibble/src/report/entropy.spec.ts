import { SeededRandom } from '@nibble/ir';
import { paramsFromRange, quantize } from '@nibble/quant';
import { Histogram } from '@nibble/stats';
import { histogramCodeEntropy, levelEntropy, shannonBits } from './entropy';

describe('code entropy', () => {
  it('Shannon bits: analytic cases', () => {
    expect(shannonBits(new Array(16).fill(5))).toBeCloseTo(4, 12);
    expect(shannonBits([7, 0, 0])).toBe(0);
    expect(shannonBits([1, 1])).toBeCloseTo(1, 12);
    expect(shannonBits([1, 1, 2])).toBeCloseTo(1.5, 12);
    expect(shannonBits([])).toBe(0);
  });

  it('per channel along the axis: uniform 16 levels hold 4 bits, a constant channel none', () => {
    // [2 channels, 32 values]: channel 0 cycles through -8..7 twice, channel 1 is all 3.
    const levels = [...Array.from({ length: 32 }, (_, i) => (i % 16) - 8), ...new Array(32).fill(3)];
    const r = levelEntropy(levels, [2, 32], 0, 2);
    expect(Array.from(r.perChannel)).toEqual([4, 0]);
    expect(r.mean).toBe(2);
    // The same values laid out with the channel axis last.
    const t = Array.from({ length: 64 }, (_, i) => levels[(i % 2) * 32 + Math.floor(i / 2)]);
    expect(Array.from(levelEntropy(t, [32, 2], 1, 2).perChannel)).toEqual([4, 0]);
  });

  it('activation entropy from a histogram matches the entropy of the samples\' own codes (4-bit, Laplace)', () => {
    const rng = new SeededRandom(5);
    const x = Float64Array.from({ length: 50_000 }, () => -Math.log(1 - rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1));
    const p = paramsFromRange({ lo: -3, hi: 3, bits: 4, axis: null, signed: false });
    const codes = quantize(x, [x.length], p);
    const counts = new Map<number, number>();
    for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
    const direct = shannonBits([...counts.values()]);
    const w = 2 ** -9;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const start = Math.floor(lo / w);
    const hc = new Float64Array(Math.floor(hi / w) - start + 1);
    for (const v of x) hc[Math.floor(v / w) - start]++;
    const estimate = histogramCodeEntropy([new Histogram(hc, w, start, lo, hi)], p)!;
    // Only samples within half a bin of a decision boundary can change code: a few hundredths of a bit at most.
    expect(Math.abs(estimate - direct)).toBeLessThan(0.02);
    expect(direct).toBeGreaterThan(2.5);
    expect(direct).toBeLessThan(4);
  });
});
