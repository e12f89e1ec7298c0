import { NibbleError } from '@nibble/ir';
import { relativeBits } from './allocate';

/*
 * The paper's variable-length variant of bit allocation: channel i gets
 * omega_i quantization bins, omega_i proportional to a_i^(2/3) (the
 * Lagrange solution of METHOD.md section 2, sum a_i^2 / (3 omega_i^2)
 * under a fixed total of bins), but omega_i is any integer, not a power of
 * two. The grid is later coded by an entropy coder, so a channel's cost is
 * not a whole number of bits.
 *
 * The budget B is a rate: sum_i log2 omega_i <= B * C, i.e. the geometric
 * mean of the bins is 2^B. It is the fixed-length rate of the grids (log2
 * omega_i bits per value with an ideal uniform code) and an upper bound of
 * the entropy of the codes, whatever the data (entropy <= log2 of the
 * alphabet), so a model allocated at B never costs more than B bits per
 * value once entropy-coded. Allocating at an entropy target instead would
 * need the code histograms of every candidate scale (a calibration run per
 * step for activations) and would give no bound before quantizing; the
 * entropy is measured and reported afterwards instead.
 *
 * omega_i(t) = clamp(round(2^(t + log2(C w_i))), minLevels, maxLevels) with
 * w_i = a_i^(2/3) / sum a^(2/3); the mean of log2 omega_i is a
 * non-decreasing step function of t, so bisection finds the largest t whose
 * rate is within the budget. Bins the steps leave unspent go one at a time
 * to the channel whose MSE falls most per bit of rate, while the budget
 * allows.
 */

export interface BinAllocationOptions {
  /** Mean log2 of the bins per channel, B (bits). */
  budget: number;
  /** Fewest bins a channel gets (default 2; 1 makes a channel a constant). */
  minLevels?: number;
  /** Most bins a channel gets (default 256: an 8-bit container). */
  maxLevels?: number;
  /** Tensor name for messages. */
  name?: string;
}

export interface BinAllocation {
  levels: Int32Array;
  /** Mean of log2 levels over the channels: the rate the budget bounds. */
  meanLog2: number;
  budget: number;
  /** meanLog2 <= budget. */
  withinBudget: boolean;
  /** The target t of the rounded bins (before the fill). */
  target: number;
  /** Bins added by the greedy fill after the bisection. */
  filled: number;
  warning?: string;
}

const SLACK = 1e-9;
export const MAX_LEVELS = 65536;

function bad(where: string, option: string, msg: string, hint?: string): NibbleError {
  return new NibbleError('E_BAD_OPTION', `alloc-bins (${where}): ${msg}`, { option, value: where, ...(hint ? { hint } : {}) });
}

function rate(levels: Int32Array): number {
  let s = 0;
  for (let i = 0; i < levels.length; i++) s += Math.log2(levels[i]);
  return s;
}

function binsAt(rel: Float64Array, t: number, lo: number, hi: number): Int32Array {
  const out = new Int32Array(rel.length);
  for (let i = 0; i < rel.length; i++) {
    const w = rel[i] === -Infinity ? lo : Math.round(2 ** (t + rel[i]));
    out[i] = w < lo ? lo : w > hi ? hi : w;
  }
  return out;
}

/** Sum of a_i^2 / (3 omega_i^2): the rounding MSE at unit clip per spread (the allocation's objective). */
export function binsMse(stat: ArrayLike<number>, levels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < stat.length; i++) s += (stat[i] * stat[i]) / (3 * levels[i] * levels[i]);
  return s;
}

export function allocateBins(stat: ArrayLike<number>, opts: BinAllocationOptions): BinAllocation {
  const where = opts.name ?? 'tensor';
  const minL = opts.minLevels ?? 2;
  const maxL = opts.maxLevels ?? 256;
  if (!Number.isInteger(minL) || minL < 1) throw bad(where, 'min-levels', `min-levels ${minL} is not an integer >= 1`);
  if (!Number.isInteger(maxL) || maxL > MAX_LEVELS || maxL < minL) {
    throw bad(where, 'max-levels', `max-levels ${maxL} is not an integer in [min-levels ${minL}, ${MAX_LEVELS}]`, 'give max-levels >= min-levels');
  }
  const B = opts.budget;
  if (!Number.isFinite(B) || B < 0) throw bad(where, 'budget', `budget ${B} is not a non-negative number`);
  const C = stat.length;
  if (C === 0) throw new NibbleError('E_SHAPE', `alloc-bins (${where}): no channels`, { value: where });
  for (let i = 0; i < C; i++) {
    if (!(stat[i] >= 0) || !Number.isFinite(stat[i])) {
      throw new NibbleError('E_NUMERIC', `alloc-bins (${where}): channel ${i} statistic is ${stat[i]}`, {
        value: where, hint: 'the per-channel spread must be a finite non-negative number; check the calibration statistics',
      });
    }
  }
  const cap = B * C + SLACK;
  if (C * Math.log2(minL) > cap) {
    throw new NibbleError('E_BUDGET', `alloc-bins (${where}): budget ${B} bits is below log2 of min-levels ${minL}`, {
      value: where, option: 'budget', hint: `raise the budget to at least ${Math.log2(minL).toFixed(3)} or lower min-levels`,
    });
  }
  const rel = relativeBits(stat);
  // Bisection on t: below lo every channel sits at min-levels, above hi at max-levels.
  let lo = -Math.log2(MAX_LEVELS) - 80;
  let hi = Math.log2(MAX_LEVELS) + 80;
  let best = binsAt(rel, lo, minL, maxL);
  const top = binsAt(rel, hi, minL, maxL);
  if (rate(top) <= cap) {
    best = top;
    lo = hi;
  } else {
    for (let k = 0; k < 200 && hi - lo > 1e-12; k++) {
      const mid = (lo + hi) / 2;
      const w = binsAt(rel, mid, minL, maxL);
      if (rate(w) <= cap) { lo = mid; best = w; } else hi = mid;
    }
  }
  // Greedy fill: one more bin where it lowers a_i^2 / omega_i^2 most per bit of rate, while the budget holds.
  let spent = rate(best);
  let filled = 0;
  for (let guard = 0; guard < 4 * C; guard++) {
    let pick = -1;
    let gain = 0;
    for (let i = 0; i < C; i++) {
      const w = best[i];
      if (w >= maxL) continue;
      const cost = Math.log2((w + 1) / w);
      if (spent + cost > cap) continue;
      const g = (stat[i] * stat[i] * (1 / (w * w) - 1 / ((w + 1) * (w + 1)))) / cost;
      if (g > gain) { gain = g; pick = i; }
    }
    if (pick < 0) break;
    spent += Math.log2((best[pick] + 1) / best[pick]);
    best[pick]++;
    filled++;
  }
  const meanLog2 = rate(best) / C;
  const result: BinAllocation = { levels: best, meanLog2, budget: B, withinBudget: meanLog2 <= B + SLACK, target: lo, filled };
  if (B > Math.log2(maxL) + SLACK) result.warning = `the budget ${B} exceeds log2 of max-levels ${maxL}; every channel gets ${maxL} bins`;
  return result;
}

/**
 * The range of the level centres of a mid-tread grid of omega levels on the
 * clip range [lo, hi]: omega bins of width D tile the clip range and each
 * level sits at its bin's centre, so the ends move in by D / 2 (signed: D =
 * (hi - lo) / omega). One-sided ([0, hi]): level 0 stays on zero (ReLU
 * zeros exact) with half its bin inside the range, so D = hi / (omega -
 * 1/2) and only the top moves in. quantize puts the first and last level on
 * this range's ends, so the grid's step is exactly D.
 */
export function midTreadRange(lo: number, hi: number, levels: number, oneSided: boolean): { lo: number; hi: number; step: number } {
  if (!(hi >= lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) {
    throw new NibbleError('E_NUMERIC', `alloc-bins: clip range [${lo}, ${hi}] is not finite and ordered`, { hint: 'check the statistics of this value' });
  }
  if (levels < 2 || hi === lo) return { lo, hi, step: 0 };
  if (oneSided && lo === 0) {
    const step = hi / (levels - 0.5);
    return { lo: 0, hi: hi - step / 2, step };
  }
  const step = (hi - lo) / levels;
  return { lo: lo + step / 2, hi: hi - step / 2, step };
}
