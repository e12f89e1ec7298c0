import { type AffineParams, type ChannelGrid, channelGridOf, channelLevelRange } from '@nibble/quant';
import { BinnedDensity, checkHistogram, firstAbove, firstAtLeast, occupiedBins, type OccupiedBins, totalMass } from './histogram';

/*
 * The clipping searches call these thousands of times per channel (every
 * candidate range at every width of an error curve), so a range costs
 * O(levels log bins) from prefix sums (momentBins), and the levels call
 * Math.fround directly: through @nibble/quant's re-exported toFloat32 each
 * call went through a module getter, which was 60 % of clip-least-error's
 * time on the zoo MobileNetV2 (cpu profile; the arithmetic is unchanged).
 */
const f32 = Math.fround;

/**
 * Mean squared quantization error of the distribution `h` (piecewise
 * uniform, as histogram.ts reads it) through channel `c` of `p`, integrated
 * exactly: each bin is cut at the decision thresholds (midpoints between
 * neighbouring levels) and (1/w) * integral (x - level)^2 dx summed per
 * piece, whole bins from prefix sums of their moments. Cost O(levels log
 * bins) once the moments are built. This is the "measured MSE" the clipping
 * choices compare; it includes clipping noise (mass beyond the end levels)
 * and treats zero-width bins as point masses.
 */
export function histogramQuantMse(h: BinnedDensity, p: AffineParams, c = 0): number {
  checkHistogram(h);
  const [qmin, qmax] = channelLevelRange(p, c);
  return quantMse(momentBins(occupiedBins(h)), totalMass(h), { scale: p.scale[c], zeroPoint: p.zeroPoint[c], qmin, qmax });
}

/**
 * Occupied bins with prefix sums of their moments about `origin` (bins
 * 0..k-1 at index k): mass, mass * centre, and mass * (centre^2 + width^2
 * / 12), the second moment of a uniform bin (a point mass has width 0).
 * The error of whole bins about a level g is then three differences,
 * sum m ((c - g)^2 + w^2 / 12) = S2 - 2 g S1 + g^2 S0, so one range costs
 * O(levels log bins) instead of O(bins): the clip searches measure a
 * channel at about a hundred ranges and several widths, and the per-bin
 * sums were most of clip-mse's and clip-least-error's time on nsfwjs's
 * 17k activation channels. The origin (the mass's mean) keeps the
 * differences from cancelling.
 */
export interface MomentBins extends OccupiedBins {
  origin: number;
  S0: Float64Array;
  S1: Float64Array;
  S2: Float64Array;
}

export function momentBins(h: OccupiedBins): MomentBins {
  const n = h.mass.length;
  let mass = 0;
  let first = 0;
  for (let i = 0; i < n; i++) { mass += h.mass[i]; first += h.mass[i] * (h.from[i] + h.to[i]) / 2; }
  const origin = mass > 0 ? first / mass : 0;
  const S0 = new Float64Array(n + 1);
  const S1 = new Float64Array(n + 1);
  const S2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const m = h.mass[i];
    const w = h.to[i] - h.from[i];
    const c = (h.from[i] + h.to[i]) / 2 - origin;
    S0[i + 1] = S0[i] + m;
    S1[i + 1] = S1[i] + m * c;
    S2[i + 1] = S2[i] + m * (c * c + (w * w) / 12);
  }
  return { ...h, origin, S0, S1, S2 };
}

/** sum over bins [i, j) of m * E[(x - g)^2] (each bin uniform, or a point mass), from the prefix sums. */
export function wholeBinsError(h: MomentBins, i: number, j: number, g: number): number {
  if (j <= i) return 0;
  const d = g - h.origin;
  const e = h.S2[j] - h.S2[i] - 2 * d * (h.S1[j] - h.S1[i]) + d * d * (h.S0[j] - h.S0[i]);
  return Math.max(0, e);
}

/** integral over [u, v] of density * (x - g)^2 dx, without cancellation. */
function pieceError(density: number, u: number, v: number, g: number): number {
  const a = u - g;
  const w = v - u;
  return density * w * (a * a + a * w + (w * w) / 3);
}

/**
 * histogramQuantMse of a histogram already checked (its occupied bins), whose total mass is `total`.
 * Per level: the bins that start below its upper decision threshold, whole ones from the prefix sums,
 * a bin straddling a threshold cut there. A point mass on a threshold counts with the upper level
 * (it lies as far from either).
 */
function quantMse(h: MomentBins, total: number, grid: ChannelGrid): number {
  if (total === 0) return 0;
  const { qmin, qmax, scale: s, zeroPoint: zp } = grid;
  const { from, to, mass } = h;
  const count = qmax - qmin + 1;
  const n = mass.length;
  let sum = 0;
  let i = 0;
  // Where the current level's decision interval starts; bin i may have begun below it (a straddling bin).
  let start = -Infinity;
  let level = f32((qmin - zp) * s);
  for (let j = 0; j < count && i < n; j++) {
    const next = j < count - 1 ? f32((qmin + j + 1 - zp) * s) : 0;
    const t = j < count - 1 ? (level + next) / 2 : Infinity;
    // The rest of a bin cut at `start` by the level below.
    if (from[i] < start && to[i] > start) {
      const end = Math.min(to[i], t);
      sum += pieceError(mass[i] / (to[i] - from[i]), start, end, level);
      if (to[i] <= t) i++;
      else { start = t; level = next; continue; }
    }
    // Bins [i, k) start below t; all but the last end at or below it.
    const k = t === Infinity ? n : firstAtLeast(from, t, i, n);
    if (k > i) {
      // The last of them may straddle t: its part below t is this level's, the rest the next one's.
      const whole = to[k - 1] > t ? k - 1 : k;
      sum += wholeBinsError(h, i, whole, level);
      if (whole < k) sum += pieceError(mass[whole] / (to[whole] - from[whole]), from[whole], t, level);
      i = whole;
    }
    start = t;
    level = next;
  }
  return sum / total;
}

/** histogramQuantMse for a clip range and bit-width (the grid of paramsFromRange). */
export function histogramRangeMse(h: BinnedDensity, lo: number, hi: number, bits: number, constant?: number): number {
  return rangeMseOf(h)(lo, hi, bits, constant);
}

/**
 * histogramRangeMse of one histogram as a function of the range, checked
 * and summed once: what a search that measures many ranges calls.
 */
export function rangeMseOf(h: BinnedDensity): (lo: number, hi: number, bits: number, constant?: number) => number {
  return rangeMseAndBoundOf(h).mse;
}

/**
 * rangeMseOf, and a lower bound of it that costs O(log bins): the error of
 * the mass beyond the grid's end levels alone, each such value rounded to
 * the end level (what quantization does to it), everything else counted 0.
 * A search skips ranges whose bound already exceeds its best error.
 */
export function rangeMseAndBoundOf(h: BinnedDensity): {
  mse: (lo: number, hi: number, bits: number, constant?: number) => number;
  bound: (lo: number, hi: number, bits: number, constant?: number) => number;
} {
  checkHistogram(h);
  const total = totalMass(h);
  const bins = momentBins(occupiedBins(h));
  return {
    mse: (lo, hi, bits, constant) => quantMse(bins, total, channelGridOf(lo, hi, bits, constant)),
    bound: (lo, hi, bits, constant) => {
      if (total === 0) return 0;
      const g = channelGridOf(lo, hi, bits, constant);
      return beyondError(bins, f32((g.qmin - g.zeroPoint) * g.scale), f32((g.qmax - g.zeroPoint) * g.scale)) / total;
    },
  };
}

/** sum over the mass below `bottom` of (bottom - x)^2 plus over the mass above `top` of (x - top)^2 (bins uniform or points). */
export function beyondError(h: MomentBins, bottom: number, top: number): number {
  const { mass, from, to } = h;
  const n = mass.length;
  let sum = 0;
  // Bins [0, below) start under `bottom`; all but the last end at or below it.
  const below = firstAtLeast(from, bottom, 0, n);
  if (below > 0) {
    const last = below - 1;
    if (to[last] > bottom && to[last] > from[last]) {
      sum += wholeBinsError(h, 0, last, bottom);
      sum += ((mass[last] / (to[last] - from[last])) * (bottom - from[last]) ** 3) / 3;
    } else sum += wholeBinsError(h, 0, below, bottom);
  }
  // Bins [above, n) end over `top`; all but the first start at or above it.
  const above = firstAbove(to, top, 0, n);
  if (above < n) {
    if (from[above] < top && to[above] > from[above]) {
      sum += ((mass[above] / (to[above] - from[above])) * (to[above] - top) ** 3) / 3;
      sum += wholeBinsError(h, above + 1, n, top);
    } else sum += wholeBinsError(h, above, n, top);
  }
  return sum;
}
