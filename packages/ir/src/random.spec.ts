import { SeededRandom } from './index';

describe('SeededRandom', () => {
  it('gives the xoshiro128** / splitmix32 sequence (checked against an independent transcription)', () => {
    const a = new SeededRandom(0);
    expect([a.nextUint32(), a.nextUint32(), a.nextUint32(), a.nextUint32()]).toEqual([3809008728, 1133695204, 53579671, 2891528803]);
    const b = new SeededRandom(42);
    expect([b.nextUint32(), b.nextUint32(), b.nextUint32(), b.nextUint32()]).toEqual([2837322924, 544945897, 479756282, 3500138142]);
  });

  it('is deterministic per seed and differs across seeds, also above 2^32', () => {
    const a = new SeededRandom(42).fill(5, (r) => r.uniform());
    expect(new SeededRandom(42).fill(5, (r) => r.uniform())).toEqual(a);
    expect(new SeededRandom(43).fill(5, (r) => r.uniform())).not.toEqual(a);
    expect(new SeededRandom(5).nextUint32()).not.toBe(new SeededRandom(5 + 2 ** 32).nextUint32());
  });

  it('draws unbiased integers', () => {
    const r = new SeededRandom(3);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[r.nextInt(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400); // > 4 sigma
    expect(() => r.nextInt(0)).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
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

  it('rejects seeds that are not non-negative integers', () => {
    expect(() => new SeededRandom(-1)).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => new SeededRandom(1.5)).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });
});
