import { SeededRandom, permutation, sampleOrder } from './index';

describe('SeededRandom', () => {
  it('gives the xoshiro128** / splitmix32 sequence (checked against an independent transcription)', () => {
    const a = new SeededRandom(0);
    expect([a.nextUint32(), a.nextUint32(), a.nextUint32(), a.nextUint32()]).toEqual([3809008728, 1133695204, 53579671, 2891528803]);
    const b = new SeededRandom(42);
    expect([b.nextUint32(), b.nextUint32(), b.nextUint32(), b.nextUint32()]).toEqual([2837322924, 544945897, 479756282, 3500138142]);
  });

  it('separates seeds that differ only above 2^32', () => {
    expect(new SeededRandom(5).nextUint32()).not.toBe(new SeededRandom(5 + 2 ** 32).nextUint32());
  });

  it('draws unbiased integers and floats in range', () => {
    const r = new SeededRandom(3);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[r.nextInt(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400); // > 4 sigma
    for (let i = 0; i < 1000; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
    }
  });

  it('rejects seeds that are not non-negative integers', () => {
    expect(() => new SeededRandom(-1)).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => new SeededRandom(1.5)).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });
});

describe('permutation and sampleOrder', () => {
  it('is a permutation, fixed by the seed', () => {
    expect(Array.from(permutation(10, 7))).toEqual([3, 9, 6, 5, 4, 7, 2, 1, 8, 0]);
    const p = permutation(1000, 1);
    expect([...p].sort((a, b) => a - b)).toEqual([...Array(1000).keys()]);
    expect(Array.from(permutation(1000, 1))).toEqual(Array.from(p));
    expect(Array.from(permutation(1000, 2))).not.toEqual(Array.from(p));
  });

  it('takes a prefix: a smaller limit gives the start of a larger one', () => {
    expect(Array.from(sampleOrder(5))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(sampleOrder(5, { limit: 2 }))).toEqual([0, 1]);
    const big = sampleOrder(100, { shuffle: true, seed: 9, limit: 50 });
    const small = sampleOrder(100, { shuffle: true, seed: 9, limit: 20 });
    expect(Array.from(small)).toEqual(Array.from(big.subarray(0, 20)));
    expect(sampleOrder(3, { limit: 10 }).length).toBe(3);
    expect(() => sampleOrder(3, { limit: -1 })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });
});
