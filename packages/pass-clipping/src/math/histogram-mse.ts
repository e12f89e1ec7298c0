import { AffineParams, channelLevelRange, paramsFromRange, toFloat32 } from '@nibble/quant';
import { BinnedDensity, checkHistogram, totalMass } from './histogram';

/**
 * Mean squared quantization error of the distribution `h` (piecewise
 * uniform, as histogram.ts reads it) through channel `c` of `p`, integrated
 * exactly: each bin is cut at the decision thresholds (midpoints between
 * neighbouring levels) and sum (1/w) * integral (x - level)^2 dx is added per
 * piece. Cost O(bins + levels). This is the "measured MSE" the clipping
 * choices compare; it includes clipping noise (mass beyond the end levels)
 * and treats zero-width bins as point masses.
 */
export function histogramQuantMse(h: BinnedDensity, p: AffineParams, c = 0): number {
  checkHistogram(h);
  const total = totalMass(h);
  if (total === 0) return 0;
  const [qmin, qmax] = channelLevelRange(p, c);
  const s = p.scale[c];
  const zp = p.zeroPoint[c];
  const level = (k: number) => toFloat32((k - zp) * s);
  const threshold = (k: number) => (k >= qmax ? Infinity : (level(k) + level(k + 1)) / 2);
  const n = h.counts.length;
  let k = qmin;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const m = h.counts[i];
    if (m === 0) continue;
    const a = h.edges[i];
    const b = h.edges[i + 1];
    // Bins ascend, so the level under a bin's start only ever moves up.
    while (k < qmax && threshold(k) <= a) k++;
    if (b === a) {
      const d = a - level(k);
      sum += m * d * d;
      continue;
    }
    const density = m / (b - a);
    let from = a;
    let kk = k;
    while (from < b) {
      const to = Math.min(b, threshold(kk));
      const g = level(kk);
      const u = from - g;
      const w = to - from;
      // integral_from^to (x - g)^2 dx without cancellation
      sum += density * w * (u * u + u * w + (w * w) / 3);
      from = to;
      if (from < b) kk++;
    }
  }
  return sum / total;
}

/** histogramQuantMse for a clip range and bit-width (the grid of paramsFromRange). */
export function histogramRangeMse(h: BinnedDensity, lo: number, hi: number, bits: number, constant?: number): number {
  return histogramQuantMse(h, paramsFromRange({ lo, hi, bits, constant }));
}
