import { Tensor } from '@nibble/ir';
import { Histogram, HistogramCollector } from './index';
import { batches, channelValues, gaussian, laplace, mixture, sample, uniform, type Sampler } from './testing/distributions';

/** Brute-force counts of `values` on the histogram's own grid. */
function bruteCounts(h: Histogram, values: ArrayLike<number>): Float64Array {
  const counts = new Float64Array(h.bins);
  for (let i = 0; i < values.length; i++) {
    const k = Math.floor(values[i] / h.binWidth) - h.start;
    if (k < 0 || k >= h.bins) throw new Error(`value ${values[i]} outside the histogram`);
    counts[k]++;
  }
  return counts;
}

/** The exact p-th percentile of a sample (the same convention: linear between order statistics). */
function brutePercentile(values: ArrayLike<number>, p: number): number {
  const s = Float64Array.from(values).sort();
  const pos = (p / 100) * s.length;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(pos) - 1))];
}

const feed = (col: HistogramCollector, parts: Float32Array[]) => {
  for (const p of parts) col.update({ data: p, shape: [p.length] });
};

const DISTRIBUTIONS: [string, Sampler][] = [
  ['uniform(2, 3)', uniform(2, 3)],
  ['gaussian(0, 1)', gaussian(0, 1)],
  ['laplace(0.5, 0.2)', laplace(0.5, 0.2)],
  ['mixture', mixture],
];

describe('HistogramCollector', () => {
  it.each(DISTRIBUTIONS)('counts exactly on its grid and gives percentiles within a bin on %s', (_, f) => {
    const x = sample(60_000, f, 41);
    const col = new HistogramCollector({ bins: 2048 });
    feed(col, batches(x, 4_000));
    const h = col.result().histograms[0];
    expect(h.bins).toBe(2048);
    expect(h.count).toBe(x.length);
    expect(Array.from(h.counts)).toEqual(Array.from(bruteCounts(h, x)));
    expect(h.min).toBe(Math.min(...x));
    expect(h.max).toBe(Math.max(...x));
    // The occupied span uses at least half of the bins: resolution for KL/MSE searches.
    expect((h.max - h.min) / h.binWidth).toBeGreaterThan(h.bins / 2 - 2);
    // Each percentile lies in the bin whose cumulative counts straddle it: what percentile clipping reads.
    const cumulative = Float64Array.from(h.counts, ((s) => (c: number) => (s += c))(0));
    for (const p of [0.01, 1, 10, 50, 90, 99, 99.9, 99.99]) {
      const k = Math.floor(brutePercentile(x, p) / h.binWidth) - h.start;
      const target = (p / 100) * h.count;
      expect(k > 0 ? cumulative[k - 1] : 0).toBeLessThanOrEqual(target + 1);
      expect(cumulative[k]).toBeGreaterThanOrEqual(target - 1);
    }
  });

  it('grows its range by exact merges when later batches reach further', () => {
    // Widening ranges: each batch is wider than all before, and off-centre.
    const parts = [0.01, 0.1, 1, 10, 100].map((s, i) => sample(5_000, gaussian(s * 3, s), 60 + i));
    const col = new HistogramCollector({ bins: 256 });
    feed(col, parts);
    const h = col.result().histograms[0];
    const all = new Float32Array(parts.length * 5_000);
    parts.forEach((p, i) => all.set(p, i * 5_000));
    expect(Array.from(h.counts)).toEqual(Array.from(bruteCounts(h, all)));
    expect((h.max - h.min) / h.binWidth).toBeGreaterThan(128 - 2);
  });

  it('streams to the same grid as one batch when the first batch spans the range', () => {
    const x = sample(30_000, laplace(0, 1), 77);
    // Put the extremes first so the first batch already spans everything.
    const order = Float32Array.from(x).sort();
    const first = new Float32Array(x.length);
    first[0] = order[0];
    first[1] = order[order.length - 1];
    let k = 2;
    for (const v of x) if (v !== order[0] && v !== order[order.length - 1]) first[k++] = v;
    const one = new HistogramCollector();
    feed(one, [first]);
    const many = new HistogramCollector();
    feed(many, [first.subarray(0, 2), ...batches(first.subarray(2), 1_000)]);
    const a = one.result().histograms[0];
    const b = many.result().histograms[0];
    expect(b.binWidth).toBe(a.binWidth);
    expect(b.start).toBe(a.start);
    expect(Array.from(b.counts)).toEqual(Array.from(a.counts));
  });

  it('handles constant data, then data far away', () => {
    const col = new HistogramCollector({ bins: 64 });
    feed(col, [new Float32Array(100).fill(0)]);
    const first = col.result().histograms[0];
    const before = Array.from(first.counts);
    expect(first.count).toBe(100);
    expect([first.min, first.max]).toEqual([0, 0]);
    feed(col, [Float32Array.of(1e6, -3)]);
    // A result holds the collector's arrays until the next update, which copies them first: it never changes.
    expect(Array.from(first.counts)).toEqual(before);
    const h = col.result().histograms[0];
    expect(h.count).toBe(102);
    expect(Array.from(h.counts)).toEqual(Array.from(bruteCounts(h, [...new Array(100).fill(0), 1e6, -3])));
  });

  it('a value outside the window in the middle of a batch: the window moves and every value is counted once', () => {
    // Per channel, batches [4, 3, 5, 5]; later batches hold values beyond the window at varying places
    // (first, middle, last element of a channel's run, and a far one that widens the bins).
    const shape = [4, 3, 5, 5];
    const size = shape.reduce((a, b) => a * b, 1);
    const col = new HistogramCollector({ axis: 1, bins: 64 });
    const all: Float32Array[] = [];
    for (let b = 0; b < 4; b++) {
      const x = sample(size, gaussian(0, 1), 300 + b);
      if (b >= 1) {
        x[b * 7] = 40 * b; // channel 0's run, an early element
        x[25 + 12 + b] = -15 * b; // channel 1, the middle of its first run
        x[size - 1] = b === 3 ? 1e4 : 3 * b; // channel 2, the very last element
      }
      col.update(new Tensor('float32', shape, x));
      all.push(x);
    }
    const hs = col.result().histograms;
    for (let c = 0; c < 3; c++) {
      const values = all.flatMap((x) => Array.from(channelValues(x, shape, 1, c)));
      expect(hs[c].count).toBe(values.length);
      expect(Array.from(hs[c].counts)).toEqual(Array.from(bruteCounts(hs[c], values)));
      expect([hs[c].min, hs[c].max]).toEqual([Math.min(...values), Math.max(...values)]);
    }
  });

  it('per channel equals per tensor computed channel by channel', () => {
    const shape = [6, 4, 9, 9];
    const size = shape.reduce((a, b) => a * b, 1);
    const perChannel = new HistogramCollector({ axis: 1, bins: 128 });
    const perTensor = Array.from({ length: 4 }, () => new HistogramCollector({ bins: 128 }));
    for (let b = 0; b < 3; b++) {
      const x = sample(size, mixture, 90 + b);
      perChannel.update(new Tensor('float32', shape, x));
      for (let c = 0; c < 4; c++) perTensor[c].update({ data: channelValues(x, shape, 1, c), shape: [size / 4] });
    }
    const r = perChannel.result();
    expect(r.channels).toBe(4);
    for (let c = 0; c < 4; c++) {
      const a = r.histograms[c];
      const t = perTensor[c].result().histograms[0];
      expect([a.binWidth, a.start, a.min, a.max]).toEqual([t.binWidth, t.start, t.min, t.max]);
      expect(Array.from(a.counts)).toEqual(Array.from(t.counts));
    }
  });

  it('folds to |x| exactly and merges channels exactly', () => {
    const x = sample(20_000, gaussian(0.2, 1), 5);
    const col = new HistogramCollector({ bins: 512 });
    feed(col, [x]);
    const h = col.result().histograms[0];
    const folded = h.foldAbs();
    expect(folded.start).toBe(0);
    expect(folded.count).toBe(x.length);
    expect(folded.max).toBe(Math.max(...x.map(Math.abs)));
    const abs = x.map(Math.abs);
    expect(Array.from(folded.counts)).toEqual(Array.from(bruteCounts(folded, abs)));

    const y = sample(20_000, uniform(5, 40), 6);
    const other = new HistogramCollector({ bins: 512 });
    feed(other, [y]);
    const merged = Histogram.merge([h, other.result().histograms[0]]);
    expect(merged.count).toBe(40_000);
    expect(merged.bins).toBe(512);
    const both = new Float32Array(40_000);
    both.set(x);
    both.set(y, 20_000);
    expect(Array.from(merged.counts)).toEqual(Array.from(bruteCounts(merged, both)));
  });

  it('edges are exact multiples of a power-of-two width', () => {
    const col = new HistogramCollector({ bins: 100 });
    feed(col, [sample(1000, uniform(-0.3, 0.7), 1)]);
    const h = col.result().histograms[0];
    expect(Number.isInteger(Math.log2(h.binWidth))).toBe(true);
    const e = h.edges();
    expect(e.length).toBe(101);
    expect(e[0]).toBe(h.start * h.binWidth);
    expect(e[100] - e[99]).toBe(h.binWidth);
    expect(h.center(0)).toBe((e[0] + e[1]) / 2);
  });

  it('rejects non-finite values and bad options with typed errors', () => {
    const col = new HistogramCollector({ name: 'fc' });
    expect(() => col.update({ data: Float32Array.of(1, NaN), shape: [2] })).toThrow(expect.objectContaining({ code: 'E_NUMERIC' }));
    expect(() => new HistogramCollector({ bins: 3 })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });
});
