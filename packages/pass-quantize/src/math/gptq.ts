import { NibbleError } from '@nibble/ir';
import { roundHalfEven, toFloat32 } from '@nibble/quant';

/*
 * GPTQ (Frantar et al., 2023; the optimal-brain-surgeon update of LeCun and
 * Hassibi applied one column at a time). A layer computes y = W x; with H =
 * sum over the calibration inputs of x x^T, the error its quantized weights
 * add to its outputs is sum_r (w_r - q_r)^T H (w_r - q_r). Rounding each
 * weight to nearest ignores H. GPTQ fixes the columns one at a time: a
 * column is rounded, and the columns not yet fixed move to the least-error
 * weights given every column fixed so far, which is
 *   w_F <- w_F - (w_i - q_i) / [H_F^-1]_ii * [H_F^-1]_{i,F}
 * with H_F the rows and columns of H still free. The rows of the upper
 * Cholesky factor U of H^-1 (H^-1 = U^T U) hold exactly these ratios,
 * [H_F^-1]_{i,j} / [H_F^-1]_ii = U_ij / U_ii, for every step at once, so
 * the whole pass costs one Cholesky factorisation and one inversion of H
 * (O(K^3)) and rows x K^2 / 2 updates.
 *
 * The grids are given (each row's scale and zero point, from the clipping
 * and allocation passes); only the codes are chosen. Every code stays on
 * its row's grid, so the file, the simulation and the integer kernels are
 * unchanged in kind.
 */

/** One output row's grid: codes q in [qmin, qmax] stand for (q - zeroPoint) * scale. */
export interface RowGrid {
  scale: number;
  zeroPoint: number;
  qmin: number;
  qmax: number;
}

export interface GptqOptions {
  /** Added to H's diagonal as a fraction of its mean (GPTQ's dampening; keeps H invertible with few samples). */
  damp: number;
  /** 'hessian': columns in order of decreasing H_ii (GPTQ's act-order, the columns that matter most first); 'input': as stored. */
  order: 'hessian' | 'input';
}

export interface GptqResult {
  /** Codes, row-major [rows, K], each on its row's grid. */
  codes: Int32Array;
  /** The dampening that made H positive definite (opts.damp, or 10x steps of it). */
  damp: number;
}

/** The code nearest to x on a row's grid (round half to even, as quantize does) and its value. */
export function nearestCode(x: number, g: RowGrid): number {
  const y = roundHalfEven(x / g.scale) + g.zeroPoint;
  return y < g.qmin ? g.qmin : y > g.qmax ? g.qmax : y;
}

/** What a code stands for, in float32 as DequantizeLinear computes it. */
export function codeValue(q: number, g: RowGrid): number {
  return toFloat32((q - g.zeroPoint) * g.scale);
}

/**
 * In-place lower Cholesky factor of the symmetric K x K matrix `a` (row-major;
 * the lower triangle is read, the upper zeroed). False when `a` is not
 * numerically positive definite.
 */
export function choleskyLower(a: Float64Array, K: number): boolean {
  for (let j = 0; j < K; j++) {
    const rj = j * K;
    let d = a[rj + j];
    for (let k = 0; k < j; k++) d -= a[rj + k] * a[rj + k];
    if (!(d > 0)) return false;
    const l = Math.sqrt(d);
    a[rj + j] = l;
    for (let i = j + 1; i < K; i++) {
      const ri = i * K;
      let s = a[ri + j];
      for (let k = 0; k < j; k++) s -= a[ri + k] * a[rj + k];
      a[ri + j] = s / l;
    }
    for (let k = j + 1; k < K; k++) a[rj + k] = 0;
  }
  return true;
}

/** The inverse of a lower-triangular K x K matrix (row-major), lower-triangular. */
function invertLower(l: Float64Array, K: number): Float64Array {
  const inv = new Float64Array(K * K);
  for (let j = 0; j < K; j++) {
    inv[j * K + j] = 1 / l[j * K + j];
    for (let i = j + 1; i < K; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s += l[i * K + k] * inv[k * K + j];
      inv[i * K + j] = -s / l[i * K + i];
    }
  }
  return inv;
}

/**
 * The upper factor U (row-major, U^T U = H^-1) of the damped, permuted H, or
 * undefined when H stays singular at every dampening tried.
 */
function inverseFactor(h: Float64Array, K: number, perm: Int32Array, damp: number): { u: Float64Array; damp: number } | undefined {
  let mean = 0;
  for (let i = 0; i < K; i++) mean += h[i * K + i];
  mean /= K;
  for (let attempt = 0, d = damp; attempt < 4; attempt++, d *= 10) {
    const a = new Float64Array(K * K);
    for (let i = 0; i < K; i++) for (let j = 0; j <= i; j++) a[i * K + j] = h[perm[i] * K + perm[j]];
    for (let i = 0; i < K; i++) a[i * K + i] += d * mean;
    if (!choleskyLower(a, K)) continue;
    // H^-1 = L^-T L^-1; its lower factor M (M M^T = H^-1) gives U = M^T.
    const li = invertLower(a, K);
    const hinv = new Float64Array(K * K);
    for (let i = 0; i < K; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = i; k < K; k++) s += li[k * K + i] * li[k * K + j];
        hinv[i * K + j] = s;
      }
    }
    if (!choleskyLower(hinv, K)) continue;
    const u = new Float64Array(K * K);
    for (let i = 0; i < K; i++) for (let j = i; j < K; j++) u[i * K + j] = hinv[j * K + i];
    return { u, damp: d };
  }
  return undefined;
}

/** The column order: decreasing H_ii for 'hessian' (ties by index), else as stored. */
export function columnOrder(h: Float64Array, K: number, order: GptqOptions['order']): Int32Array {
  const perm = Int32Array.from({ length: K }, (_, i) => i);
  if (order === 'hessian') perm.sort((a, b) => h[b * K + b] - h[a * K + a] || a - b);
  return perm;
}

/**
 * Codes for the weights `w` (row-major [rows, K]) that keep sum_r (w_r -
 * q_r)^T H (w_r - q_r) small, H being the inputs' second moments (K x K,
 * symmetric). A column no input reaches (H_ii = 0) is rounded to nearest:
 * nothing measured says otherwise.
 */
export function gptqCodes(w: Float64Array, rows: number, K: number, h: Float64Array, grids: readonly RowGrid[], opts: GptqOptions, where = 'weight'): GptqResult {
  if (w.length !== rows * K || h.length !== K * K || grids.length !== rows) {
    throw new NibbleError('E_SHAPE', `${where}: GPTQ got ${w.length} weights, a ${Math.sqrt(h.length)}-square H and ${grids.length} grids for [${rows}, ${K}]`, { value: where });
  }
  const codes = new Int32Array(rows * K);
  const roundAll = () => {
    for (let r = 0; r < rows; r++) for (let k = 0; k < K; k++) codes[r * K + k] = nearestCode(w[r * K + k], grids[r]);
  };
  let live = 0;
  for (let i = 0; i < K; i++) if (h[i * K + i] > 0) live++;
  if (live === 0) {
    roundAll();
    return { codes, damp: opts.damp };
  }
  const perm = columnOrder(h, K, opts.order);
  const factor = inverseFactor(h, K, perm, opts.damp);
  if (!factor) {
    throw new NibbleError('E_NUMERIC', `${where}: its inputs' second-moment matrix stays singular after dampening ${opts.damp} x 1000`, {
      value: where, hint: 'give more calibration samples, or a larger gptq{damp=...}',
    });
  }
  const { u } = factor;
  // Rows in permuted column order, updated in place as columns are fixed.
  const work = new Float64Array(rows * K);
  for (let r = 0; r < rows; r++) for (let i = 0; i < K; i++) work[r * K + i] = w[r * K + perm[i]];
  for (let i = 0; i < K; i++) {
    const ui = i * K;
    const d = u[ui + i];
    const dead = !(h[perm[i] * K + perm[i]] > 0);
    for (let r = 0; r < rows; r++) {
      const rr = r * K;
      const x = work[rr + i];
      const q = nearestCode(x, grids[r]);
      codes[rr + perm[i]] = q;
      if (dead) continue;
      const e = (x - codeValue(q, grids[r])) / d;
      if (e === 0) continue;
      for (let j = i + 1; j < K; j++) work[rr + j] -= e * u[ui + j];
    }
  }
  return { codes, damp: factor.damp };
}

/*
 * Inputs that differ from the float model's (earlier layers quantized): the
 * codes should give the float layer's outputs on the float inputs f, from
 * the inputs x they will see, min over q of sum (q . x - w . f)^2 per row.
 * With H = sum x x^T and C = sum x f^T, that is GPTQ's problem for the
 * least-squares weights w* = H^-1 C w = w + H^-1 (C - H) w (only the
 * correction is damped, so w* = w exactly when x = f), plus a constant.
 */

/** w* per row (row-major [rows, K]) for inputs x whose float counterparts are f: see above. */
export function floatTarget(w: Float64Array, rows: number, K: number, h: Float64Array, c: Float64Array, damp: number): Float64Array {
  let mean = 0;
  for (let i = 0; i < K; i++) mean += h[i * K + i] / K;
  const out = Float64Array.from(w);
  if (!(mean > 0)) return out;
  for (let d = damp > 0 ? damp : 1e-6, attempt = 0; attempt < 4; attempt++, d *= 10) {
    const l = Float64Array.from(h);
    for (let i = 0; i < K; i++) l[i * K + i] += d * mean;
    if (!choleskyLower(l, K)) continue;
    const y = new Float64Array(K);
    for (let r = 0; r < rows; r++) {
      const wr = w.subarray(r * K, (r + 1) * K);
      // y = (C - H) w_r, then solve L L^T z = y.
      for (let i = 0; i < K; i++) {
        let s = 0;
        for (let j = 0; j < K; j++) s += (c[i * K + j] - h[i * K + j]) * wr[j];
        y[i] = s;
      }
      for (let i = 0; i < K; i++) {
        let s = y[i];
        for (let k = 0; k < i; k++) s -= l[i * K + k] * y[k];
        y[i] = s / l[i * K + i];
      }
      for (let i = K - 1; i >= 0; i--) {
        let s = y[i];
        for (let k = i + 1; k < K; k++) s -= l[k * K + i] * y[k];
        y[i] = s / l[i * K + i];
      }
      for (let i = 0; i < K; i++) out[r * K + i] += y[i];
    }
    return out;
  }
  return out;
}

/**
 * sum over rows of sum over the inputs of (v_r . x - w_r . f)^2 =
 * v^T H v - 2 v^T C w + w^T F w: the squared error of values v against the
 * float layer on the float inputs (v = 0: the float outputs' energy).
 */
export function errorAgainstFloat(w: Float64Array, rows: number, K: number, h: Float64Array, c: Float64Array, f: Float64Array, values?: Float64Array): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const wr = w.subarray(r * K, (r + 1) * K);
    const vr = values ? values.subarray(r * K, (r + 1) * K) : undefined;
    for (let i = 0; i < K; i++) {
      let fw = 0;
      let hv = 0;
      let cw = 0;
      for (let j = 0; j < K; j++) {
        fw += f[i * K + j] * wr[j];
        if (vr) {
          hv += h[i * K + j] * vr[j];
          cw += c[i * K + j] * wr[j];
        }
      }
      total += wr[i] * fw + (vr ? vr[i] * hv - 2 * vr[i] * cw : 0);
    }
  }
  return total;
}
