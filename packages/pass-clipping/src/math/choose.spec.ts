import { SeededRandom } from '@nibble/quant';
import { chooseClipByMse } from './choose';
import { histogramOf } from './histogram';
import { clipStatsOf } from './sample-stats';

describe('chooseClipByMse', () => {
  const pick = (x: Float64Array, bits: number, oneSided = false) =>
    chooseClipByMse(histogramOf(x, 4096), clipStatsOf(x), { bits, oneSided });

  it('picks the prior the data came from, and min/max for uniform data', () => {
    const r = new SeededRandom(4);
    expect(pick(r.fill(100000, (g) => g.laplace(0, 1)), 4).choice).toBe('laplace');
    expect(pick(r.fill(100000, (g) => g.normal(0, 1)), 4).choice).toBe('gauss');
    const u = pick(r.fill(100000, (g) => g.uniform() * 2 - 1), 4);
    expect(u.choice).toBe('minmax');
    expect(u.mse.minmax).toBeLessThan(u.mse.laplace!);
    expect(u.mse.minmax).toBeLessThan(u.mse.gauss!);
  });

  it('measures one-sided channels on max(x, 0) and returns an unsigned range', () => {
    const x = new SeededRandom(5).fill(100000, (g) => g.laplace(0.2, 1));
    const c = pick(x, 3, true);
    expect(c.lo).toBe(0);
    expect(c.choice).toBe('laplace');
  });
});
