import { SeededRandom } from '@nibble/ir';
import { choleskyLower, codeValue, columnOrder, errorAgainstFloat, floatTarget, gptqCodes, nearestCode, type RowGrid } from './gptq';

/** Inputs [P, K] with correlated columns (a shared factor), some ReLU-like zeros, and their H = X^T X. */
function problem(seed: number, rows: number, K: number, P: number) {
  const r = new SeededRandom(seed);
  const x = new Float64Array(P * K);
  for (let p = 0; p < P; p++) {
    const shared = r.normal();
    for (let k = 0; k < K; k++) x[p * K + k] = Math.max(0, 0.7 * shared + r.normal() * (0.5 + k / K));
  }
  const h = new Float64Array(K * K);
  for (let p = 0; p < P; p++) for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) h[i * K + j] += x[p * K + i] * x[p * K + j];
  const w = r.fill(rows * K, (g) => g.normal(0, 0.3));
  // 3-bit grids over each row's min/max, asymmetric (as clip-minmax gives).
  const grids: RowGrid[] = Array.from({ length: rows }, (_, o) => {
    const row = w.subarray(o * K, (o + 1) * K);
    const lo = Math.min(0, ...row);
    const hi = Math.max(0, ...row);
    const scale = Math.fround((hi - lo) / 7);
    return { scale, zeroPoint: Math.round(-lo / scale), qmin: 0, qmax: 7 };
  });
  return { w, h, grids };
}

/** Solves A y = b (n x n, row-major) by Gaussian elimination with partial pivoting. */
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const y = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[piv * n + c])) piv = r;
    for (let k = 0; k < n; k++) [m[c * n + k], m[piv * n + k]] = [m[piv * n + k], m[c * n + k]];
    [y[c], y[piv]] = [y[piv], y[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      y[r] -= f * y[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = y[c];
    for (let k = c + 1; k < n; k++) s -= m[c * n + k] * y[k];
    y[c] = s / m[c * n + c];
  }
  return y;
}

/*
 * The definition GPTQ computes by its Cholesky recursion: at each step the
 * free weights are the least-error ones given the columns fixed so far,
 * w'_F = w_F + H_FF^-1 H_FQ (w_Q - v_Q) (the minimiser of (w - w')^T H (w - w')
 * with w'_Q = v_Q), and the next column is rounded to nearest from there.
 * Solved afresh at every step with Gaussian elimination on the damped H.
 */
function reference(w: Float64Array, rows: number, K: number, h: Float64Array, grids: RowGrid[], damp: number, perm: Int32Array): Int32Array {
  const hd = Float64Array.from(h);
  let mean = 0;
  for (let i = 0; i < K; i++) mean += h[i * K + i] / K;
  for (let i = 0; i < K; i++) hd[i * K + i] += damp * mean;
  const codes = new Int32Array(rows * K);
  for (let r = 0; r < rows; r++) {
    const fixed: number[] = [];
    const value = new Float64Array(K);
    for (let step = 0; step < K; step++) {
      const free = Array.from(perm).slice(step);
      // current w'_F
      const rhs = new Float64Array(free.length);
      for (let a = 0; a < free.length; a++) {
        let s = 0;
        for (const q of fixed) s += hd[free[a] * K + q] * (w[r * K + q] - value[q]);
        rhs[a] = s;
      }
      const hff = new Float64Array(free.length * free.length);
      for (let a = 0; a < free.length; a++) for (let b = 0; b < free.length; b++) hff[a * free.length + b] = hd[free[a] * K + free[b]];
      const shift = fixed.length ? solve(hff, rhs, free.length) : new Float64Array(free.length);
      const i = free[0];
      const current = w[r * K + i] + shift[0];
      const q = nearestCode(current, grids[r]);
      codes[r * K + i] = q;
      value[i] = codeValue(q, grids[r]);
      fixed.push(i);
    }
  }
  return codes;
}

describe('gptq codes', () => {
  it('are the codes of the step-by-step least-error definition (solved afresh at each step), in either column order', () => {
    for (const seed of [1, 2, 3]) {
      const { w, h, grids } = problem(seed, 4, 9, 60);
      for (const order of ['hessian', 'input'] as const) {
        const got = gptqCodes(w, 4, 9, h, grids, { damp: 0.01, order });
        expect(got.damp).toBe(0.01);
        expect(Array.from(got.codes)).toEqual(Array.from(reference(w, 4, 9, h, grids, 0.01, columnOrder(h, 9, order))));
      }
    }
  });

  it('add less error to the layer\'s outputs than rounding to nearest, and stay on each row\'s grid', () => {
    for (const seed of [4, 5, 6, 7, 8]) {
      const rows = 6, K = 24;
      const { w, h, grids } = problem(seed, rows, K, 200);
      const { codes } = gptqCodes(w, rows, K, h, grids, { damp: 0.01, order: 'hessian' });
      const values = (c: ArrayLike<number>) => Float64Array.from({ length: rows * K }, (_, i) => codeValue(c[i], grids[Math.floor(i / K)]));
      const nearest = Int32Array.from({ length: rows * K }, (_, i) => nearestCode(w[i], grids[Math.floor(i / K)]));
      // Inputs equal to the float inputs: H = C = F.
      const gptq = errorAgainstFloat(w, rows, K, h, h, h, values(codes));
      const rtn = errorAgainstFloat(w, rows, K, h, h, h, values(nearest));
      expect(gptq).toBeLessThan(0.8 * rtn);
      for (let i = 0; i < codes.length; i++) {
        expect(Number.isInteger(codes[i])).toBe(true);
        expect(codes[i]).toBeGreaterThanOrEqual(0);
        expect(codes[i]).toBeLessThanOrEqual(7);
      }
    }
  });

  it('round to nearest where nothing couples the columns: one column, or inputs that never reach a column', () => {
    const { w, h, grids } = problem(9, 3, 5, 40);
    const nearest = (i: number, K: number) => nearestCode(w[i], grids[Math.floor(i / K)]);
    // K = 1: no other column can absorb an error.
    const one = new Float64Array([h[0]]);
    const w1 = Float64Array.from([w[0], w[5], w[10]]);
    expect(Array.from(gptqCodes(w1, 3, 1, one, grids, { damp: 0.01, order: 'hessian' }).codes)).toEqual([0, 1, 2].map((r) => nearestCode(w1[r], grids[r])));
    // Column 2 never receives an input: H's row and column 2 are zero; it keeps its nearest code.
    const dead = Float64Array.from(h);
    for (let k = 0; k < 5; k++) dead[2 * 5 + k] = dead[k * 5 + 2] = 0;
    const { codes } = gptqCodes(w, 3, 5, dead, grids, { damp: 0.01, order: 'hessian' });
    for (let r = 0; r < 3; r++) expect(codes[r * 5 + 2]).toBe(nearest(r * 5 + 2, 5));
    // No input at all: every code is the nearest.
    const none = gptqCodes(w, 3, 5, new Float64Array(25), grids, { damp: 0.01, order: 'hessian' }).codes;
    expect(Array.from(none)).toEqual(Array.from({ length: 15 }, (_, i) => nearest(i, 5)));
  });

  it('damps 10x more until H factors, reports the dampening used, and refuses an H that never does', () => {
    const grids: RowGrid[] = [{ scale: 0.1, zeroPoint: 8, qmin: 0, qmax: 15 }];
    const w = Float64Array.from([0.33, -0.27]);
    // Eigenvalues 4 and -2 (not a sum of outer products, but rounding can leave H slightly so): factors once 10 x its mean diagonal is added.
    const indefinite = Float64Array.from([1, 3, 3, 1]);
    expect(gptqCodes(w, 1, 2, indefinite, grids, { damp: 0.01, order: 'input' }).damp).toBeCloseTo(10, 12);
    // A rank-one H with no dampening at all stays singular.
    const rankOne = Float64Array.from([1, 2, 2, 4]);
    expect(() => gptqCodes(w, 1, 2, rankOne, grids, { damp: 0, order: 'input' }, 'conv.weight')).toThrow(/conv\.weight: its inputs' second-moment matrix stays singular/);
    expect(gptqCodes(w, 1, 2, rankOne, grids, { damp: 0.01, order: 'input' }).damp).toBe(0.01);
  });
});

describe('float targets (inputs x that differ from the float inputs f)', () => {
  /** x = f + a perturbation that shifts and mixes (an upstream layer's error), both [P, K]. */
  function pair(seed: number, K: number, P: number) {
    const r = new SeededRandom(seed);
    const f = r.fill(P * K, (q) => Math.max(0, q.normal() + 0.3));
    const x = Float64Array.from(f, (v, i) => v * (1 + 0.1 * Math.sin(i)) + 0.05 * r.normal() + 0.02);
    const sum = (a: Float64Array, b: Float64Array) => {
      const m = new Float64Array(K * K);
      for (let p = 0; p < P; p++) for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) m[i * K + j] += a[p * K + i] * b[p * K + j];
      return m;
    };
    return { f, x, h: sum(x, x), c: sum(x, f), F: sum(f, f), w: r.fill(3 * K, (q) => q.normal()) };
  }

  it('w* is the least-squares weights: H w* = C w (the gradient of sum (v.x - w.f)^2 vanishes), and w itself when x = f', () => {
    const K = 6;
    const { h, c, F, w } = pair(21, K, 80);
    const star = floatTarget(w, 3, K, h, c, 1e-12);
    for (let r = 0; r < 3; r++) {
      for (let i = 0; i < K; i++) {
        let hw = 0;
        let cw = 0;
        for (let j = 0; j < K; j++) {
          hw += h[i * K + j] * star[r * K + j];
          cw += c[i * K + j] * w[r * K + j];
        }
        expect(Math.abs(hw - cw)).toBeLessThan(1e-7 * Math.abs(cw) + 1e-9);
      }
    }
    expect(Array.from(floatTarget(w, 3, K, F, F, 0.01))).toEqual(Array.from(w));
  });

  it('errorAgainstFloat is sum over the vectors of (v.x - w.f)^2, summed directly', () => {
    const K = 5;
    const P = 40;
    const { f, x, h, c, F, w } = pair(22, K, P);
    const v = Float64Array.from(w, (a, i) => a + 0.1 * Math.cos(i));
    let want = 0;
    let energy = 0;
    for (let r = 0; r < 3; r++) {
      for (let p = 0; p < P; p++) {
        let vx = 0;
        let wf = 0;
        for (let k = 0; k < K; k++) {
          vx += v[r * K + k] * x[p * K + k];
          wf += w[r * K + k] * f[p * K + k];
        }
        want += (vx - wf) ** 2;
        energy += wf * wf;
      }
    }
    expect(errorAgainstFloat(w, 3, K, h, c, F, v)).toBeCloseTo(want, 8);
    expect(errorAgainstFloat(w, 3, K, h, c, F)).toBeCloseTo(energy, 8);
    // x = f: the quadratic form sum_r (w_r - v_r)^T F (w_r - v_r).
    let form = 0;
    for (let r = 0; r < 3; r++) for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) form += (w[r * K + i] - v[r * K + i]) * F[i * K + j] * (w[r * K + j] - v[r * K + j]);
    expect(errorAgainstFloat(w, 3, K, F, F, F, v)).toBeCloseTo(form, 8);
  });
});

describe('choleskyLower', () => {
  it('factors a symmetric positive definite matrix: L L^T = A, zero above the diagonal; refuses an indefinite one', () => {
    const { h } = problem(11, 1, 6, 30);
    const a = Float64Array.from(h);
    expect(choleskyLower(a, 6)).toBe(true);
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 6; j++) {
        let s = 0;
        for (let k = 0; k < 6; k++) s += a[i * 6 + k] * a[j * 6 + k];
        expect(s).toBeCloseTo(h[i * 6 + j], 9);
        if (j > i) expect(a[i * 6 + j]).toBe(0);
      }
    }
    expect(choleskyLower(Float64Array.from([1, 2, 2, 1]), 2)).toBe(false);
  });
});
