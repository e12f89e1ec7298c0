import { NibbleError } from '@nibble/ir';
import { goldenSection } from './minimize';
import { erfc } from './special';

/**
 * ACIQ (Banner et al.): clip at the alpha that minimises clipping noise plus
 * rounding noise for a Laplace or Gaussian prior. See METHOD.md section 1.
 */
export type AciqPrior = 'laplace' | 'gauss';

/** Rounding noise of M bits over [-a, a]: step D = 2a / 2^M, D^2 / 12 = a^2 / (3 * 4^M). */
export function roundingNoise(alpha: number, bits: number): number {
  return roundingNoiseForLevels(alpha, 2 ** bits);
}

/**
 * Rounding noise of omega bins over [-a, a] (omega need not be a power of
 * two): step D = 2a / omega, D^2 / 12 = a^2 / (3 omega^2); 2^M bins give the
 * M-bit formula.
 */
export function roundingNoiseForLevels(alpha: number, levels: number): number {
  return (alpha * alpha) / (3 * levels * levels);
}

/** Laplace(0, b) clipped to [-a, a] at M bits: 2 b^2 e^{-a/b} + a^2 / (3 * 4^M). */
export function laplaceClipMse(alpha: number, b: number, bits: number): number {
  return 2 * b * b * Math.exp(-alpha / b) + roundingNoise(alpha, bits);
}

/**
 * Gauss(0, s) clipped to [-a, a] at M bits:
 * (a^2 + s^2) erfc(a / (sqrt 2 s)) - sqrt(2/pi) a s e^{-a^2 / 2 s^2} + a^2 / (3 * 4^M).
 */
export function gaussClipMse(alpha: number, s: number, bits: number): number {
  const a2 = alpha * alpha;
  const clip = (a2 + s * s) * erfc(alpha / (Math.SQRT2 * s)) - Math.sqrt(2 / Math.PI) * alpha * s * Math.exp(-a2 / (2 * s * s));
  return clip + roundingNoise(alpha, bits);
}

export function aciqMse(prior: AciqPrior, alpha: number, spread: number, bits: number): number {
  return prior === 'laplace' ? laplaceClipMse(alpha, spread, bits) : gaussClipMse(alpha, spread, bits);
}

/** Clipping noise plus rounding noise at omega bins: 2 b^2 e^{-a/b} + a^2 / (3 omega^2) for Laplace (Gauss alike). */
export function aciqMseForLevels(prior: AciqPrior, alpha: number, spread: number, levels: number): number {
  // The M-bit forms at bits = log2(omega): their rounding term is a^2 / (3 * 4^log2(omega)) = a^2 / (3 omega^2).
  return aciqMse(prior, alpha, spread, Math.log2(levels));
}

/** Largest bit-width with a solved alpha: 16-bit tensors plus the M+1 row one-sided 16-bit ones use. */
export const ACIQ_MAX_BITS = 17;

const cache: Record<AciqPrior, Map<number, number>> = { laplace: new Map(), gauss: new Map() };

function checkAciqBits(bits: number, option = 'bits'): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > ACIQ_MAX_BITS) {
    throw new NibbleError('E_BAD_OPTION', `ACIQ: bit-width ${bits} is not an integer in [1, ${ACIQ_MAX_BITS}]`, {
      option,
      hint: 'ACIQ clips 1- to 16-bit tensors (one-sided ones use the M+1 row)',
    });
  }
}

/**
 * alpha* / b (Laplace) or alpha* / s (Gauss) at M bits: the minimiser of the
 * unit-spread MSE, solved once per (prior, M) by golden-section search and
 * cached. The MSE is convex in alpha (its second derivative is e^{-a} + ...
 * for Laplace and 2 erfc(a / sqrt 2) + ... for Gauss), so the bracket
 * [0, 40] holds exactly one minimum for every M up to 17.
 */
export function aciqAlpha(prior: AciqPrior, bits: number): number {
  checkAciqBits(bits);
  let a = cache[prior].get(bits);
  if (a === undefined) {
    a = goldenSection((x) => aciqMse(prior, x, 1, bits), 0, 40, 1e-12).x;
    cache[prior].set(bits, a);
  }
  return a;
}

/** Largest omega with a solved alpha: 2^16 levels, doubled for one-sided tensors. */
export const ACIQ_MAX_LEVELS = 2 ** ACIQ_MAX_BITS;

const levelCache: Record<AciqPrior, Map<number, number>> = { laplace: new Map(), gauss: new Map() };

/**
 * alpha* / b (or / s) for omega bins that need not be a power of two (the
 * paper's variable-length variant): the minimiser of 2 e^{-a} + a^2 / (3
 * omega^2) (Laplace, unit b; the Gauss form likewise), solved by the same
 * golden-section search as the M-bit table and cached per omega. omega =
 * 2^M gives aciqAlpha(M). One-sided tensors use 2 omega, as the M-bit
 * table uses its M+1 row.
 */
export function aciqAlphaForLevels(prior: AciqPrior, levels: number, option = 'levels'): number {
  if (!Number.isInteger(levels) || levels < 2 || levels > ACIQ_MAX_LEVELS) {
    throw new NibbleError('E_BAD_OPTION', `ACIQ: ${levels} bins is not an integer in [2, ${ACIQ_MAX_LEVELS}]`, {
      option,
      hint: 'ACIQ clips grids of 2 to 2^17 bins (one-sided ones use twice their levels)',
    });
  }
  let a = levelCache[prior].get(levels);
  if (a === undefined) {
    a = goldenSection((x) => aciqMseForLevels(prior, x, 1, levels), 0, 40, 1e-12).x;
    levelCache[prior].set(levels, a);
  }
  return a;
}

/** The alpha table for M = 1 .. maxBits (index M - 1). */
export function aciqAlphaTable(prior: AciqPrior, maxBits = 16): Float64Array {
  const t = new Float64Array(maxBits);
  for (let m = 1; m <= maxBits; m++) t[m - 1] = aciqAlpha(prior, m);
  return t;
}

/** Per-channel (or per-tensor) statistics ACIQ needs, on the pre-ReLU tensor with BN folded. */
export interface ClipStats {
  mean: number;
  /** b: mean absolute deviation about the mean (the Laplace estimator). */
  meanAbsDev: number;
  /** s: unbiased standard deviation (the Gauss estimator). */
  std: number;
  min: number;
  max: number;
}

export interface ClipRange {
  lo: number;
  hi: number;
}

export interface AciqOptions {
  prior: AciqPrior;
  bits: number;
  /** A conv output that feeds a ReLU: unsigned range [0, ...] and the M+1 row. */
  oneSided?: boolean;
  /** Clamp the ACIQ range to the observed [min, max] (METHOD.md, weak spots). */
  capAtObserved?: boolean;
  /** omega bins when not 2^bits (alloc-bins): alpha from aciqAlphaForLevels, at 2 omega when one-sided. */
  levels?: number;
}

export interface AciqRange extends ClipRange {
  /** The clip half-width a = alpha * spread (0 for a 0-bit channel). */
  alpha: number;
}

/**
 * The clip range from alpha, as METHOD.md states it:
 * - signed: a = alpha_M * spread, lo = max(min, mu - a), hi = lo + 2a;
 * - one-sided: lo = 0, hi = max(mu, 0) + alpha_{M+1} * spread.
 * With capAtObserved, hi <= max (and lo >= min, which the signed form
 * already has). A 0-bit channel gets [mu, mu] (one-sided: max(mu, 0)), so a
 * constant channel defaults to the mean rather than a range midpoint.
 */
export function aciqRange(stats: ClipStats, opts: AciqOptions): AciqRange {
  const { mean, min, max } = stats;
  for (const [k, v] of Object.entries(stats)) {
    if (!Number.isFinite(v)) {
      throw new NibbleError('E_NUMERIC', `ACIQ: statistic ${k} is ${v}`, { hint: 'the calibration statistics contain NaN/Inf' });
    }
  }
  if (!Number.isInteger(opts.bits) || opts.bits < 0 || opts.bits > 16) {
    throw new NibbleError('E_BAD_OPTION', `ACIQ: bit-width ${opts.bits} is not an integer in [0, 16]`, { option: 'bits' });
  }
  const spread = opts.prior === 'laplace' ? stats.meanAbsDev : stats.std;
  if (spread < 0) throw new NibbleError('E_NUMERIC', `ACIQ: spread ${spread} is negative`);
  if (opts.bits === 0) {
    const c = opts.oneSided ? Math.max(mean, 0) : mean;
    return { lo: c, hi: c, alpha: 0 };
  }
  // Alpha per unit spread: the M-bit table, or the omega one when the grid is not a power of two.
  const unitAlpha = (twice: boolean): number => (opts.levels === undefined
    ? aciqAlpha(opts.prior, opts.bits + (twice ? 1 : 0))
    : aciqAlphaForLevels(opts.prior, opts.levels * (twice ? 2 : 1)));
  if (opts.oneSided) {
    const a = unitAlpha(true) * spread;
    let hi = Math.max(mean, 0) + a;
    if (opts.capAtObserved) hi = Math.min(hi, Math.max(max, 0));
    return { lo: 0, hi, alpha: a };
  }
  const a = unitAlpha(false) * spread;
  const lo = Math.max(min, mean - a);
  let hi = lo + 2 * a;
  if (opts.capAtObserved) hi = Math.min(hi, max);
  return { lo, hi: Math.max(hi, lo), alpha: a };
}
