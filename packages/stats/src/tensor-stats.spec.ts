import { Tensor } from '@nibble/ir';
import { bruteStats } from '@nibble/testing';
import { channelStats, TensorStatsCollector } from './tensor-stats';
import { channelValues, laplace, relErr, sample } from './testing/distributions';

describe('TensorStatsCollector', () => {
  const shape = [16, 8, 14, 14];
  const size = shape.reduce((a, b) => a * b, 1);
  const xs = [0, 1, 2, 3, 4].map((b) => sample(size, laplace(0.1, 0.8), 300 + b));

  it('collects every statistic per channel, each matching a float64 brute force', () => {
    const col = new TensorStatsCollector({ axis: 1, histogram: { bins: 512 }, name: 'conv2' });
    for (const x of xs) col.update(new Tensor('float32', shape, x));
    expect(col.needsSecondPass).toBe(false);
    const r = col.result();
    expect(r.channels).toBe(8);
    expect(r.histograms).toHaveLength(8);
    for (let c = 0; c < 8; c++) {
      const all = new Float32Array(xs.length * (size / 8));
      xs.forEach((x, i) => all.set(channelValues(x, shape, 1, c), i * (size / 8)));
      const b = bruteStats(all);
      const s = channelStats(r, c);
      expect([s.count, s.min, s.max]).toEqual([b.count, b.min, b.max]);
      expect(relErr(s.mean, b.mean)).toBeLessThan(1e-9);
      expect(relErr(s.variance, b.variance)).toBeLessThan(1e-9);
      expect(relErr(s.mad, b.mad)).toBeLessThan(1e-9);
      expect(s.madExact).toBe(true);
      expect(s.histogram!.count).toBe(b.count);
    }
  });

  it('runs the second pass when asked to, and skips what is not requested', () => {
    const col = new TensorStatsCollector({ mad: 'two-pass' });
    for (const x of xs) col.update({ data: x, shape: [x.length] });
    expect(col.needsSecondPass).toBe(true);
    for (const x of xs) col.updateSecondPass({ data: x, shape: [x.length] });
    expect(col.needsSecondPass).toBe(false);
    const all = new Float32Array(xs.length * size);
    xs.forEach((x, i) => all.set(x, i * size));
    const r = col.result();
    expect(relErr(r.mad[0], bruteStats(all).mad)).toBeLessThan(1e-9);
    expect(r.histograms).toBeUndefined();

    const bare = new TensorStatsCollector({ mad: false });
    bare.update({ data: xs[0], shape: [size] });
    expect(Number.isNaN(bare.result().mad[0])).toBe(true);
    expect(bare.needsSecondPass).toBe(false);
  });
});
