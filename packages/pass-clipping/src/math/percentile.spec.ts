import { SeededRandom } from '@nibble/quant';
import { histogramOf } from './histogram';
import { percentileRange } from './percentile';

describe('percentileRange', () => {
  it('is exact on a uniform density', () => {
    const h = { counts: [1], edges: [0, 1] };
    expect(percentileRange(h, 99, 'one-sided').hi).toBeCloseTo(0.99, 12);
    const two = percentileRange(h, 99, 'asymmetric');
    expect(two.lo).toBeCloseTo(0.005, 12);
    expect(two.hi).toBeCloseTo(0.995, 12);
    const sym = percentileRange({ counts: [1, 1], edges: [-1, 0, 1] }, 99, 'symmetric');
    expect(sym.hi).toBeCloseTo(0.99, 12);
    expect(sym.lo).toBeCloseTo(-0.99, 12);
  });

  it('percentile 99 of uniform samples is 0.99 of the range', () => {
    const x = new SeededRandom(5).fill(100000, (r) => r.uniform() * 4 - 1);
    const h = histogramOf(x, 1000);
    expect(percentileRange(h, 99, 'one-sided').hi).toBeCloseTo(-1 + 0.99 * 4, 2);
    expect(percentileRange(h, 100, 'asymmetric').hi).toBeCloseTo(3, 3);
  });

  it('one-sided ignores the negative half; symmetric uses |x|', () => {
    const x = new SeededRandom(6).fill(100000, (r) => r.normal(0, 1));
    const h = histogramOf(x, 2048);
    // P(x <= 1.6449) = 0.95 for a standard normal; P(|x| <= 1.9600) = 0.95
    expect(percentileRange(h, 95, 'one-sided').hi).toBeCloseTo(1.6449, 1);
    expect(percentileRange(h, 95, 'symmetric').hi).toBeCloseTo(1.96, 1);
  });

  it('rejects percentiles outside (0, 100] and unknown modes', () => {
    const h = { counts: [1], edges: [0, 1] };
    for (const p of [0, -1, 100.5, NaN]) expect(() => percentileRange(h, p)).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => percentileRange(h, 99, 'sideways' as never)).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });
});
