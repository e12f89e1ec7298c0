import { NibbleError } from '@nibble/ir';
import { MAX_BITS, roundHalfEven } from '@nibble/quant';

/**
 * Per-channel bit allocation (METHOD.md section 2). With C channels, an
 * average budget of M bits and a spread statistic a_i per channel (std, b or
 * the clip alpha), minimising sum a_i^2 / (3 * 4^M_i) subject to
 * sum 2^M_i = C * 2^M gives 2^M_i = a_i^(2/3) / sum_j a_j^(2/3) * C * 2^M.
 * Integer widths: M_i(t) = clamp(round(t + log2(C * w_i)), min, max) with
 * w_i = a_i^(2/3) / sum a^(2/3) and a target t that starts at M.
 *
 * 'round' (default): the public code's fixed-target loop, t <- t + (M -
 * mean)/2 at most 10 times until |mean - M| <= tolerance, keeping the best
 * iterate that does not exceed M. When none is within tolerance, bisection
 * on t finds the largest mean not above M (mean(t) is a non-decreasing step
 * function); if ties still leave bits unspent, they go greedily to the
 * channels whose MSE falls most per added bit (fill). The mean never
 * exceeds the budget.
 *
 * 'ceil': the older code's ceil(t + log2(C w_i)) at t = M with no loop. It
 * overshoots (about +0.5 bit on average) and is kept only to reproduce that
 * code; the result says so in `warning` and `withinBudget` is false.
 */
export type AllocationMode = 'round' | 'ceil';

export interface AllocationOptions {
  /** Average bits per channel, M. */
  budget: number;
  minBits?: number;
  maxBits?: number;
  mode?: AllocationMode;
  /** |mean - M| the fixed-target loop accepts (default 0.01). */
  tolerance?: number;
  maxIterations?: number;
  /** Give the bits that ties leave unspent to the channels that gain most (default true). */
  fill?: boolean;
  /** Return an over-budget allocation instead of E_BUDGET when min bits exceed the budget. */
  allowOver?: boolean;
  /** Tensor name for messages. */
  name?: string;
}

export interface Allocation {
  bits: Int32Array;
  meanBits: number;
  budget: number;
  /** meanBits <= budget. */
  withinBudget: boolean;
  /** withinBudget and budget - meanBits <= tolerance. */
  meetsBudget: boolean;
  method: 'fixed-target' | 'bisection' | 'bisection+fill' | 'ceil' | 'min-clamp';
  /** The target t of the returned widths (before any fill). */
  target: number;
  iterations: number;
  warning?: string;
}

const SLACK = 1e-9;

function options(stat: ArrayLike<number>, o: AllocationOptions) {
  const where = o.name ?? 'tensor';
  const minBits = o.minBits ?? 0;
  const maxBits = o.maxBits ?? 8;
  const bad = (option: string, msg: string, hint?: string) => new NibbleError('E_BAD_OPTION', `alloc-bits (${where}): ${msg}`, { option, value: where, hint });
  if (!Number.isInteger(minBits) || !Number.isInteger(maxBits) || minBits < 0 || maxBits > MAX_BITS || minBits > maxBits) {
    throw bad('minBits', `bit clamp [${minBits}, ${maxBits}] is not a range of integers within [0, ${MAX_BITS}]`);
  }
  if (!Number.isFinite(o.budget) || o.budget < 0) throw bad('budget', `budget ${o.budget} is not a non-negative number`);
  const mode = o.mode ?? 'round';
  if (mode !== 'round' && mode !== 'ceil') throw bad('mode', `mode '${mode}' is not 'round' or 'ceil'`);
  if (stat.length === 0) throw new NibbleError('E_SHAPE', `alloc-bits (${where}): no channels`, { value: where });
  for (let i = 0; i < stat.length; i++) {
    if (!(stat[i] >= 0) || !Number.isFinite(stat[i])) {
      throw new NibbleError('E_NUMERIC', `alloc-bits (${where}): channel ${i} statistic is ${stat[i]}`, {
        value: where,
        hint: 'the per-channel spread must be a finite non-negative number; check the calibration statistics',
      });
    }
  }
  return {
    where, minBits, maxBits, mode,
    tolerance: o.tolerance ?? 0.01,
    maxIterations: o.maxIterations ?? 10,
    fill: o.fill ?? true,
    allowOver: o.allowOver ?? false,
  };
}

/** log2(C * w_i): the continuous width of channel i at target 0 (-Infinity for a_i = 0). */
export function relativeBits(stat: ArrayLike<number>): Float64Array {
  const C = stat.length;
  let sum = 0;
  for (let i = 0; i < C; i++) sum += Math.cbrt(stat[i] * stat[i]);
  const out = new Float64Array(C);
  for (let i = 0; i < C; i++) out[i] = sum > 0 ? Math.log2((C * Math.cbrt(stat[i] * stat[i])) / sum) : -Infinity;
  return out;
}

/** Sum of the model MSE a_i^2 / (3 * 4^M_i) (the objective of the allocation). */
export function allocationMse(stat: ArrayLike<number>, bits: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < stat.length; i++) s += (stat[i] * stat[i]) / (3 * 4 ** bits[i]);
  return s;
}

function widths(rel: Float64Array, t: number, lo: number, hi: number, round: (x: number) => number): { bits: Int32Array; mean: number } {
  const bits = new Int32Array(rel.length);
  let sum = 0;
  for (let i = 0; i < rel.length; i++) {
    const v = rel[i] === -Infinity ? lo : round(t + rel[i]);
    bits[i] = v < lo ? lo : v > hi ? hi : v;
    sum += bits[i];
  }
  return { bits, mean: sum / rel.length };
}

function greedyFill(stat: ArrayLike<number>, bits: Int32Array, budget: number, maxBits: number): boolean {
  const C = bits.length;
  let spare = Math.floor(budget * C + SLACK) - bits.reduce((s, b) => s + b, 0);
  let changed = false;
  while (spare > 0) {
    // Adding a bit to channel i lowers its MSE by a_i^2 / (3 * 4^M_i) * 3/4.
    let best = -1;
    let gain = 0;
    for (let i = 0; i < C; i++) {
      if (bits[i] >= maxBits) continue;
      const g = (stat[i] * stat[i]) / 4 ** bits[i];
      if (g > gain) { gain = g; best = i; }
    }
    if (best < 0) break;
    bits[best]++;
    spare--;
    changed = true;
  }
  return changed;
}

export function allocateBits(stat: ArrayLike<number>, opts: AllocationOptions): Allocation {
  const o = options(stat, opts);
  const M = opts.budget;
  const C = stat.length;
  const rel = relativeBits(stat);
  const result = (bits: Int32Array, method: Allocation['method'], target: number, iterations: number, warning?: string): Allocation => {
    const meanBits = bits.reduce((s, b) => s + b, 0) / C;
    const withinBudget = meanBits <= M + SLACK;
    return { bits, meanBits, budget: M, withinBudget, meetsBudget: withinBudget && M - meanBits <= o.tolerance + SLACK, method, target, iterations, warning };
  };

  if (o.minBits > M + SLACK) {
    const bits = new Int32Array(C).fill(o.minBits);
    const msg = `budget ${M} bits is below the minimum width ${o.minBits}`;
    if (!o.allowOver) {
      throw new NibbleError('E_BUDGET', `alloc-bits (${o.where}): ${msg}`, {
        value: o.where,
        option: 'budget',
        hint: `raise the budget to at least ${o.minBits}, lower minBits, or pass allowOver to accept ${o.minBits} bits`,
      });
    }
    return result(bits, 'min-clamp', -Infinity, 0, `${msg}; every channel gets ${o.minBits} bits (over budget, allowed)`);
  }

  if (o.mode === 'ceil') {
    const { bits, mean } = widths(rel, M, o.minBits, o.maxBits, Math.ceil);
    const r = result(bits, 'ceil', M, 1);
    if (!r.withinBudget) r.warning = `ceil allocation averages ${mean.toFixed(3)} bits for a budget of ${M} (the older reference code's overshoot)`;
    return r;
  }

  // The fixed-target loop of the public code, keeping the best iterate within budget.
  let t = M;
  let best: { bits: Int32Array; mean: number; t: number } | undefined;
  let iterations = 0;
  for (let k = 0; k < o.maxIterations; k++) {
    iterations++;
    const w = widths(rel, t, o.minBits, o.maxBits, roundHalfEven);
    if (w.mean <= M + SLACK && (!best || w.mean > best.mean)) best = { ...w, t };
    if (Math.abs(w.mean - M) <= o.tolerance) break;
    t += (M - w.mean) / 2;
  }
  if (best && M - best.mean <= o.tolerance + SLACK) return result(best.bits, 'fixed-target', best.t, iterations);

  // Bisection on t for the largest mean not above M.
  let lo = M - 2 * MAX_BITS - 64;
  let hi = M + 2 * MAX_BITS + 64;
  let atLo = widths(rel, lo, o.minBits, o.maxBits, roundHalfEven);
  const atHi = widths(rel, hi, o.minBits, o.maxBits, roundHalfEven);
  if (atHi.mean <= M + SLACK) {
    atLo = atHi;
    lo = hi;
  } else {
    for (let k = 0; k < 100 && hi - lo > 1e-12; k++) {
      iterations++;
      const mid = (lo + hi) / 2;
      const w = widths(rel, mid, o.minBits, o.maxBits, roundHalfEven);
      if (w.mean <= M + SLACK) { lo = mid; atLo = w; } else hi = mid;
    }
  }
  const bits = atLo.bits;
  const filled = o.fill && M - atLo.mean > o.tolerance && greedyFill(stat, bits, M, o.maxBits);
  const r = result(bits, filled ? 'bisection+fill' : 'bisection', lo, iterations);
  // Short of the budget with every channel that has a spread at maxBits: the rest are constant channels, exact at any
  // width, so no bit is missing (a first layer at 8 bits with dead filters: nsfwjs MobileNetV2's Conv1, 9 of 32).
  const saturated = bits.every((b, i) => b >= o.maxBits || rel[i] === -Infinity);
  if (!r.meetsBudget && (M > o.maxBits || !saturated)) {
    r.warning = `allocation averages ${r.meanBits.toFixed(3)} bits for a budget of ${M}` +
      (M > o.maxBits ? ` (the budget exceeds maxBits ${o.maxBits})` : ' (ties in the channel statistics)');
  }
  return r;
}
