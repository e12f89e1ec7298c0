import { NibbleError } from '@nibble/ir';
import type { Histogram as StatsHistogram } from '@nibble/stats';
import { clipAciqPass } from './clip-aciq.pass';
import { clipKlPass } from './clip-kl.pass';
import { clipMsePass } from './clip-mse.pass';
import { clipPercentilePass } from './clip-percentile.pass';
import { clipMode } from './histogram-mode';
import { aciqRange, type ClipRange } from './math/aciq';
import { capHistogram } from './math/histogram';
import { klRange } from './math/kl';
import { minMaxRange } from './math/minmax';
import { mseSearchRange } from './math/mse-search';
import { percentileRange } from './math/percentile';
import { asMath, clipStats } from './value-stats';

/*
 * What each clipping method would have chosen for one value, beside the
 * range the pipeline kept: the report draws them on the histogram, so a
 * user sees whether another method would clip harder or softer (what
 * AIMET's and NNCF's range views show). Every method runs with its pass's
 * own defaults (parseOptions of no options), so the lines move with them.
 */

export type ClipCandidateMethod = 'minmax' | 'aciq-laplace' | 'aciq-gauss' | 'percentile' | 'kl' | 'mse';

export interface ClipCandidate extends ClipRange {
  method: ClipCandidateMethod;
}

/** One tensor's calibration statistics (per tensor, with its histogram) as the statistics package keeps them. */
export interface CandidateInput {
  mean: number;
  mad: number;
  std: number;
  min: number;
  max: number;
  count: number;
  histogram?: StatsHistogram;
}

export interface CandidateOptions {
  /** The grid's bit-width the ranges are chosen for (1 to 16). */
  bits: number;
  /** A ReLU reads the value: ranges start at 0. */
  oneSided: boolean;
  /** A reader clips at this bound (ReLU6: 6): every range ends at or below it. */
  upperBound?: number;
  /** Names the value in errors. */
  where: string;
}

/**
 * The candidate ranges of every method for one tensor. Histogram methods
 * (percentile, KL, MSE) appear only when a histogram was collected.
 */
export function clipCandidates(s: CandidateInput, o: CandidateOptions): ClipCandidate[] {
  if (!Number.isInteger(o.bits) || o.bits < 1 || o.bits > 16) {
    throw new NibbleError('E_BAD_OPTION', `${o.where}: candidate clip ranges need a bit-width in [1, 16], not ${o.bits}`, { value: o.where, option: 'bits' });
  }
  const upper = o.upperBound;
  const raw = clipStats(o.where, s);
  // The methods choose among ranges a capped reader can see, as the passes do (value-stats' cappedChannels).
  const stats = upper === undefined ? raw : { ...raw, min: Math.min(raw.min, upper), max: Math.min(raw.max, upper) };
  const cap = (r: ClipRange): ClipRange => (upper === undefined ? r : { lo: Math.min(r.lo, upper), hi: Math.min(r.hi, upper) });
  const out: ClipCandidate[] = [{ method: 'minmax', ...minMaxRange(stats, o.oneSided) }];
  const aciq = clipAciqPass.parseOptions([]);
  for (const prior of ['laplace', 'gauss'] as const) {
    const r = aciqRange(stats, { prior, bits: o.bits, oneSided: o.oneSided, capAtObserved: aciq.capObserved });
    out.push({ method: `aciq-${prior}`, ...cap({ lo: r.lo, hi: r.hi }) });
  }
  if (s.histogram && s.histogram.count > 0) {
    const h = upper === undefined ? asMath(s.histogram) : capHistogram(asMath(s.histogram), upper);
    const pct = clipPercentilePass.parseOptions([]);
    out.push({ method: 'percentile', ...percentileRange(h, pct.p, clipMode(pct.mode, o.oneSided)) });
    const kl = clipKlPass.parseOptions([]);
    const k = klRange(h, { bits: o.bits, mode: clipMode(kl.mode, o.oneSided), candidates: kl.candidates });
    out.push({ method: 'kl', lo: k.lo, hi: k.hi });
    const mse = clipMsePass.parseOptions([]);
    const m = mseSearchRange(h, { bits: o.bits, mode: clipMode(mse.mode, o.oneSided), gridPoints: mse.gridPoints });
    out.push({ method: 'mse', lo: m.lo, hi: m.hi });
  }
  return out;
}
