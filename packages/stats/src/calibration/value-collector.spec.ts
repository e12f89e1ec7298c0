import { bruteStats, channelOf, concat, relDiff } from '@nibble/testing';
import { AbsDeviationCollector } from '../abs-deviation';
import { gaussian, laplace, rng } from '../testing/distributions';
import { ValueCollector } from './value-collector';

/** Batches [n, C, 5, 5] whose channels sit far from zero (|mean| ~ 1e5 std), where naive sums lose digits. */
function offsetBatches(sizes: number[], seed: number): { data: Float64Array; shape: number[] }[] {
  const u = rng(seed);
  const C = 3;
  return sizes.map((n) => {
    const data = new Float64Array(n * C * 25);
    for (let i = 0; i < data.length; i++) {
      const c = Math.floor(i / 25) % C;
      data[i] = c === 0 ? 1e5 + gaussian(0, 1)(u) : c === 1 ? -3e4 + laplace(0, 2)(u) : gaussian(0.5, 0.1)(u);
    }
    return { data, shape: [n, C, 5, 5] };
  });
}

function run(collector: ValueCollector, batches: { data: Float64Array; shape: number[] }[]) {
  for (const b of batches) collector.update(b);
  if (collector.needsSecondPass) for (const b of batches) collector.updateSecondPass(b);
  return collector.result();
}

describe('ValueCollector', () => {
  const batches = offsetBatches([7, 16, 1, 9], 3);

  it('agrees with float64 brute force per tensor (merged from channels) and per channel, far from zero (1e-9)', () => {
    const r = run(new ValueCollector({ name: 'v', perChannel: true, mad: 'two-pass', histogram: false }), batches);
    const check = (got: { count: Float64Array; min: Float64Array; max: Float64Array; mean: Float64Array; variance: Float64Array; mad: Float64Array }, c: number, values: Float64Array) => {
      const want = bruteStats(values);
      expect([got.count[c], got.min[c], got.max[c]]).toEqual([want.count, want.min, want.max]);
      expect(relDiff(got.mean[c], want.mean, want.std)).toBeLessThan(1e-9);
      expect(relDiff(got.variance[c], want.variance)).toBeLessThan(1e-9);
      expect(relDiff(got.mad[c], want.mad)).toBeLessThan(1e-9);
    };
    check(r.perTensor, 0, concat(batches.map((b) => b.data)));
    for (let c = 0; c < 3; c++) check(r.perChannel!, c, channelOf(batches, 1, c));
    expect(Array.from(r.perTensor.madExact)).toEqual([1]);
  });

  it('gives the banded deviation of the package collector in auto mode', () => {
    const r = run(new ValueCollector({ name: 'v', perChannel: true, mad: 'auto', histogram: false }), batches);
    const direct = new AbsDeviationCollector({ axis: 1 });
    for (const b of batches) direct.update(b);
    if (direct.needsSecondPass) for (const b of batches) direct.updateSecondPass(b);
    expect(Array.from(r.perChannel!.mad)).toEqual(Array.from(direct.result().mad));
  });

  it('collects histograms on both levels when asked, counting every value', () => {
    const r = run(new ValueCollector({ name: 'v', perChannel: true, mad: false, histogram: { bins: 32 } }), batches);
    expect(r.perTensor.histograms![0].count).toBe(33 * 75);
    expect(r.perChannel!.histograms!.map((h) => h.count)).toEqual([825, 825, 825]);
    expect(Number.isNaN(r.perTensor.mad[0])).toBe(true);
  });

  it('merges the per-tensor histogram from the channels\' with exact counts: each bin holds the values in it', () => {
    // Channels of different scales (the merged grid is the widest channel's, widened to fit) and far apart.
    const u = rng(11);
    const near = [4, 12].map((n) => {
      const data = new Float64Array(n * 3 * 25);
      for (let i = 0; i < data.length; i++) data[i] = [gaussian(0, 1), laplace(2, 0.1), gaussian(-1, 4)][Math.floor(i / 25) % 3](u);
      return { data, shape: [n, 3, 5, 5] };
    });
    for (const set of [near, batches]) {
      const h = run(new ValueCollector({ name: 'v', perChannel: true, mad: false, histogram: { bins: 64 } }), set).perTensor.histograms![0];
      const values = concat(set.map((b) => b.data));
      const want = new Float64Array(h.bins);
      for (const x of values) want[Math.floor(x / h.binWidth) - h.start]++;
      expect(Array.from(h.counts)).toEqual(Array.from(want));
      expect([h.min, h.max]).toEqual([Math.min(...values), Math.max(...values)]);
      expect(h.bins).toBe(64);
    }
  });

  it('rejects a second pass over other data', () => {
    const c = new ValueCollector({ name: 'conv3', perChannel: true, mad: 'two-pass', histogram: false });
    for (const b of batches) c.update(b);
    c.updateSecondPass(batches[0]);
    expect(() => c.result()).toThrow(/conv3.*second pass saw 175 values, the first 825/);
  });
});
