import { permutation, sampleOrder } from './prng';

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
