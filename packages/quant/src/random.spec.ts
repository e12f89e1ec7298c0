import { SeededRandom } from './random';
import { channelLayout, channelMean, normalizeAxis } from './layout';

describe('SeededRandom', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new SeededRandom(42).fill(5, (r) => r.uniform());
    expect(new SeededRandom(42).fill(5, (r) => r.uniform())).toEqual(a);
    expect(new SeededRandom(43).fill(5, (r) => r.uniform())).not.toEqual(a);
  });

  it('draws with the right moments', () => {
    const r = new SeededRandom(1);
    const n = 200000;
    const m = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / x.length;
    const u = r.fill(n, (g) => g.uniform());
    expect(m(u)).toBeCloseTo(0.5, 2);
    expect(u.every((v) => v >= 0 && v < 1)).toBe(true);
    const z = r.fill(n, (g) => g.normal(1, 2));
    expect(m(z)).toBeCloseTo(1, 1);
    expect(Math.sqrt(m(z.map((v) => (v - 1) ** 2)))).toBeCloseTo(2, 1);
    const l = r.fill(n, (g) => g.laplace(0, 0.5));
    expect(m(l.map(Math.abs))).toBeCloseTo(0.5, 2); // E|x| = b
  });
});

describe('channel layout', () => {
  it('splits a shape around an axis, negative axes included', () => {
    expect(channelLayout([2, 3, 4], 1)).toMatchObject({ outer: 2, channels: 3, inner: 4, size: 24 });
    expect(channelLayout([2, 3, 4], -1)).toMatchObject({ axis: 2, outer: 6, channels: 4, inner: 1 });
    expect(channelLayout([2, 3], null)).toMatchObject({ outer: 1, channels: 1, inner: 6 });
    expect(() => normalizeAxis(3, 3)).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => channelLayout([2, 3], 1, 2)).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
    expect(Array.from(channelMean([1, 2, 3, 4, 5, 6], [2, 3], 1))).toEqual([2.5, 3.5, 4.5]);
  });
});
