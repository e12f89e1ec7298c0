import { AciqPrior, ClipRange, ClipStats, aciqRange } from './aciq';
import { BinnedDensity, reluHistogram } from './histogram';
import { histogramRangeMse } from './histogram-mse';
import { minMaxRange } from './minmax';

/**
 * Per-channel choice among the ACIQ priors and min/max by measured MSE on
 * the channel's histogram (METHOD.md asks for it after ACIQ widened ranges
 * on some convs and shrank them too far on FC outputs). The MSE is measured
 * on max(x, 0) for one-sided channels, where ReLU zeros are exact.
 */
export type ClipChoice = AciqPrior | 'minmax';

export interface ChooseOptions {
  bits: number;
  oneSided?: boolean;
  capAtObserved?: boolean;
  /** Candidates in order of preference on equal MSE (default laplace, gauss, minmax). */
  candidates?: readonly ClipChoice[];
}

export interface ChosenRange extends ClipRange {
  choice: ClipChoice;
  mse: Partial<Record<ClipChoice, number>>;
}

export function chooseClipByMse(h: BinnedDensity, stats: ClipStats, opts: ChooseOptions): ChosenRange {
  const measured = opts.oneSided ? reluHistogram(h) : h;
  const candidates = opts.candidates ?? ['laplace', 'gauss', 'minmax'];
  let best: ChosenRange | undefined;
  const mse: Partial<Record<ClipChoice, number>> = {};
  for (const choice of candidates) {
    const r =
      choice === 'minmax'
        ? minMaxRange(stats, opts.oneSided)
        : aciqRange(stats, { prior: choice, bits: opts.bits, oneSided: opts.oneSided, capAtObserved: opts.capAtObserved });
    const e = histogramRangeMse(measured, r.lo, r.hi, opts.bits, stats.mean);
    mse[choice] = e;
    if (!best || e < best.mse[best.choice]!) best = { lo: r.lo, hi: r.hi, choice, mse };
  }
  return best!;
}
