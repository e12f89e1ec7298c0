import { SeededRandom } from '@nibble/ir';
import { Histogram } from '@nibble/stats';
import { clipCandidates, type CandidateInput, type ClipCandidate } from './candidates';

/** Samples' statistics as calibration keeps them: moments, mean absolute deviation, a histogram on a 2^-k grid. */
function statsOf(x: Float64Array, binWidth: number): CandidateInput {
  let lo = Infinity;
  let hi = -Infinity;
  let sum = 0;
  for (const v of x) { lo = Math.min(lo, v); hi = Math.max(hi, v); sum += v; }
  const mean = sum / x.length;
  let mad = 0;
  let ss = 0;
  for (const v of x) { mad += Math.abs(v - mean); ss += (v - mean) ** 2; }
  const start = Math.floor(lo / binWidth);
  const counts = new Float64Array(Math.floor(hi / binWidth) - start + 1);
  for (const v of x) counts[Math.floor(v / binWidth) - start]++;
  return { mean, mad: mad / x.length, std: Math.sqrt(ss / (x.length - 1)), min: lo, max: hi, count: x.length, histogram: new Histogram(counts, binWidth, start, lo, hi) };
}

const laplace = (rng: SeededRandom, n: number, b: number) => Float64Array.from({ length: n }, () => -b * Math.log(1 - rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1));
const byMethod = (cs: ClipCandidate[]) => Object.fromEntries(cs.map((c) => [c.method, c]));

describe('clipCandidates', () => {
  const x = laplace(new SeededRandom(3), 200_000, 1);
  const s = statsOf(x, 2 ** -8);

  it('gives every method a range: min/max the observed one, ACIQ at the table value, percentile at the sample quantiles', () => {
    const c = byMethod(clipCandidates(s, { bits: 4, oneSided: false, where: 't' }));
    expect(Object.keys(c).sort()).toEqual(['aciq-gauss', 'aciq-laplace', 'kl', 'minmax', 'mse', 'percentile']);
    expect(c.minmax).toMatchObject({ lo: s.min, hi: s.max });
    // METHOD.md's table: a*/b = 5.0286 (Laplace) and a*/s = 2.5591 (Gauss) at 4 bits; signed range = [mu - a, mu + a].
    expect((c['aciq-laplace'].hi - c['aciq-laplace'].lo) / 2 / s.mad).toBeCloseTo(5.0286, 3);
    expect((c['aciq-gauss'].hi - c['aciq-gauss'].lo) / 2 / s.std).toBeCloseTo(2.5591, 3);
    // 99.99 % kept, each tail cut by 0.005 %: the sorted samples' quantiles, within a bin.
    const sorted = Float64Array.from(x).sort();
    const q = (p: number) => sorted[Math.round(p * (sorted.length - 1))];
    expect(Math.abs(c.percentile.lo - q(0.00005))).toBeLessThan(0.05);
    expect(Math.abs(c.percentile.hi - q(0.99995))).toBeLessThan(0.05);
    // At 4 bits the least-error clip of a Laplace(b = 1) is near ACIQ's 5.03 b, far inside the observed +-12 b.
    expect(c.mse.hi).toBeGreaterThan(3.5);
    expect(c.mse.hi).toBeLessThan(6.5);
    expect(c.kl.hi).toBeLessThan(s.max);
  });

  it('one-sided values start at 0 and a reader bound (ReLU6) caps every range', () => {
    const relu = Float64Array.from(x, (v) => Math.max(0, v * 3));
    const c = clipCandidates(statsOf(relu, 2 ** -8), { bits: 4, oneSided: true, upperBound: 6, where: 't' });
    for (const r of c) {
      expect(r.lo).toBe(0);
      expect(r.hi).toBeLessThanOrEqual(6);
      expect(r.hi).toBeGreaterThan(0);
    }
  });

  it('without a histogram only the statistics methods appear, and a bad bit-width names the value', () => {
    const { histogram: _, ...noHist } = s;
    expect(clipCandidates(noHist, { bits: 3, oneSided: false, where: 't' }).map((r) => r.method)).toEqual(['minmax', 'aciq-laplace', 'aciq-gauss']);
    expect(() => clipCandidates(s, { bits: 0, oneSided: false, where: 'conv1_out' })).toThrow(/conv1_out.*bit-width/);
  });
});
