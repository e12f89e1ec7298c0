import { NibbleError } from '@nibble/ir';
import { ClipRange } from './aciq';
import { BinnedDensity, absHistogram, checkHistogram, quantile, reluHistogram } from './histogram';
import { ClipMode, checkMode } from './modes';

/**
 * Percentile clipping: keep `percentile` percent of the mass.
 * - 'asymmetric': cut (100 - p)/2 percent from each tail;
 * - 'symmetric': t = the p-th percentile of |x|, range [-t, t];
 * - 'one-sided': t = the p-th percentile of max(x, 0), range [0, t].
 * Quantiles interpolate linearly within a bin.
 */
export function percentileRange(h: BinnedDensity, percentile: number, mode: ClipMode = 'asymmetric'): ClipRange {
  checkHistogram(h);
  checkMode(mode, 'clip-percentile');
  if (!(percentile > 0 && percentile <= 100)) {
    throw new NibbleError('E_BAD_OPTION', `clip-percentile: percentile ${percentile} is not in (0, 100]`, {
      option: 'percentile',
      hint: 'typical values are 99.9 to 99.999',
    });
  }
  const p = percentile / 100;
  if (mode === 'symmetric') {
    const t = quantile(absHistogram(h), p);
    return { lo: -t, hi: t };
  }
  if (mode === 'one-sided') return { lo: 0, hi: quantile(reluHistogram(h), p) };
  const tail = (1 - p) / 2;
  return { lo: quantile(h, tail), hi: quantile(h, 1 - tail) };
}
