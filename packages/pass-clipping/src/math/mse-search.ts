import { ClipRange } from './aciq';
import { BinnedDensity, checkHistogram, occupiedRange, reluHistogram } from './histogram';
import { rangeMseAndBoundOf } from './histogram-mse';
import { gridThenGolden } from './minimize';
import { ClipMode, checkMode, checkSearchBits } from './modes';

/**
 * The clip range that minimises the measured quantization MSE on the
 * histogram (histogramQuantMse: exact for the piecewise-uniform reading,
 * through our own grid, nudges included). One parameter, the fraction f of
 * the full range: symmetric [-f t, f t], one-sided [0, f t] on max(x, 0),
 * asymmetric f * [min, max]. A grid scan then golden-section refinement,
 * because the measured MSE is not exactly unimodal (zero-point rounding
 * makes it jagged).
 */
export interface MseSearchOptions {
  bits: number;
  mode?: ClipMode;
  /** Points of the initial scan over (0, 1] (default 100). */
  gridPoints?: number;
}

export interface MseSearchResult extends ClipRange {
  mse: number;
  fraction: number;
}

export function mseSearchRange(h0: BinnedDensity, opts: MseSearchOptions): MseSearchResult {
  checkHistogram(h0);
  const mode = opts.mode ?? 'asymmetric';
  checkMode(mode, 'clip-mse');
  checkSearchBits(opts.bits, 'clip-mse');
  const h = mode === 'one-sided' ? reluHistogram(h0) : h0;
  const occ = occupiedRange(h);
  const lo0 = Math.min(occ.lo, 0);
  const hi0 = Math.max(occ.hi, 0);
  const t = Math.max(-lo0, hi0);
  const rangeOf = (f: number): ClipRange =>
    mode === 'symmetric' ? { lo: -f * t, hi: f * t } : mode === 'one-sided' ? { lo: 0, hi: f * hi0 } : { lo: f * lo0, hi: f * hi0 };
  if (hi0 - lo0 === 0) return { ...rangeOf(1), mse: 0, fraction: 1 };
  const measure = rangeMseAndBoundOf(h);
  const mse = (f: number) => {
    const r = rangeOf(f);
    return measure.mse(r.lo, r.hi, opts.bits);
  };
  // What clipping alone costs a range bounds its error from below: the scan skips ranges that lose on it.
  const bound = (f: number) => {
    const r = rangeOf(f);
    return measure.bound(r.lo, r.hi, opts.bits);
  };
  const points = opts.gridPoints ?? 100;
  const m = gridThenGolden(mse, 1 / points, 1, points, 1e-6, bound);
  return { ...rangeOf(m.x), mse: m.fx, fraction: m.x };
}
