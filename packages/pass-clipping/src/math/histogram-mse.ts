import { AffineParams, channelLevelRange, paramsFromRange } from '@nibble/quant';
import { BinnedDensity, checkHistogram, occupiedBins, type OccupiedBins, totalMass } from './histogram';

/*
 * The clipping searches call these thousands of times per channel (every
 * candidate range at every width of an error curve), so the inner loop
 * reads precomputed level and threshold tables and calls Math.fround
 * directly: through @nibble/quant's re-exported toFloat32 each call went
 * through a module getter, which was 60 % of clip-least-error's time on the
 * zoo MobileNetV2 (cpu profile; the arithmetic is unchanged).
 */
const f32 = Math.fround;

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
  return quantMse(occupiedBins(h), totalMass(h), p, c);
}

/** histogramQuantMse of a histogram already checked (its occupied bins), whose total mass is `total`. */
function quantMse(h: OccupiedBins, total: number, p: AffineParams, c: number): number {
  if (total === 0) return 0;
  const [qmin, qmax] = channelLevelRange(p, c);
  const s = p.scale[c];
  const zp = p.zeroPoint[c];
  // levels[j] and thresholds[j] for code qmin + j; the last threshold is +Infinity.
  const count = qmax - qmin + 1;
  const levels = new Float64Array(count);
  for (let j = 0; j < count; j++) levels[j] = f32((qmin + j - zp) * s);
  const thresholds = new Float64Array(count);
  for (let j = 0; j < count - 1; j++) thresholds[j] = (levels[j] + levels[j + 1]) / 2;
  thresholds[count - 1] = Infinity;
  const n = h.mass.length;
  let k = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const m = h.mass[i];
    const a = h.from[i];
    const b = h.to[i];
    // Bins ascend, so the level under a bin's start only ever moves up.
    while (k < count - 1 && thresholds[k] <= a) k++;
    if (b === a) {
      const d = a - levels[k];
      sum += m * d * d;
      continue;
    }
    const density = m / (b - a);
    let from = a;
    let kk = k;
    while (from < b) {
      const to = Math.min(b, thresholds[kk]);
      const g = levels[kk];
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

/**
 * histogramRangeMse of one histogram as a function of the range, checked
 * and summed once: what a search that measures many ranges calls.
 */
export function rangeMseOf(h: BinnedDensity): (lo: number, hi: number, bits: number, constant?: number) => number {
  checkHistogram(h);
  const total = totalMass(h);
  const bins = occupiedBins(h);
  return (lo, hi, bits, constant) => quantMse(bins, total, paramsFromRange({ lo, hi, bits, constant }), 0);
}
