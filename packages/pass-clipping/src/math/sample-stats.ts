import { NibbleError } from '@nibble/ir';
import { ClipStats } from './aciq';

/**
 * ClipStats of a sample held in memory (two passes, float64): mean, mean
 * absolute deviation about the mean, unbiased std, min, max. The streaming
 * collectors of @nibble/stats compute the same for calibration; this one
 * serves weights and tests.
 */
export function clipStatsOf(x: ArrayLike<number>, where = 'tensor'): ClipStats {
  const n = x.length;
  if (n === 0) return { mean: 0, meanAbsDev: 0, std: 0, min: 0, max: 0 };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) throw new NibbleError('E_NUMERIC', `${where}: element ${i} is ${v}`, { value: where });
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / n;
  let abs = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - mean;
    abs += Math.abs(d);
    sq += d * d;
  }
  return { mean, meanAbsDev: abs / n, std: n > 1 ? Math.sqrt(sq / (n - 1)) : 0, min, max };
}
