/**
 * One-dimensional minimisers: golden-section search for a unimodal function
 * on a bracket, and a grid scan refined by golden section for functions that
 * may have several local minima (measured MSE on a histogram).
 */
const INV_PHI = (Math.sqrt(5) - 1) / 2;

export interface Minimum {
  x: number;
  fx: number;
  evaluations: number;
}

/** Golden-section search on [a, b] until the bracket is narrower than tol (absolute). */
export function goldenSection(f: (x: number) => number, a: number, b: number, tol = 1e-10, maxIter = 200): Minimum {
  let lo = Math.min(a, b);
  let hi = Math.max(a, b);
  let x1 = hi - INV_PHI * (hi - lo);
  let x2 = lo + INV_PHI * (hi - lo);
  let f1 = f(x1);
  let f2 = f(x2);
  let evaluations = 2;
  for (let i = 0; i < maxIter && hi - lo > tol; i++) {
    if (f1 <= f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - INV_PHI * (hi - lo);
      f1 = f(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + INV_PHI * (hi - lo);
      f2 = f(x2);
    }
    evaluations++;
  }
  return f1 <= f2 ? { x: x1, fx: f1, evaluations } : { x: x2, fx: f2, evaluations };
}

/**
 * Scan `points` evenly spaced values on [a, b], then refine by golden
 * section between the best point's neighbours. The scan guards against
 * local minima; the refinement gives precision the grid cannot.
 */
export function gridThenGolden(f: (x: number) => number, a: number, b: number, points = 64, tol?: number): Minimum {
  const n = Math.max(3, points);
  const step = (b - a) / (n - 1);
  let best = 0;
  let bestF = Infinity;
  for (let i = 0; i < n; i++) {
    const v = f(a + i * step);
    if (v < bestF) { bestF = v; best = i; }
  }
  const lo = a + Math.max(0, best - 1) * step;
  const hi = a + Math.min(n - 1, best + 1) * step;
  const refined = goldenSection(f, lo, hi, tol ?? Math.abs(step) * 1e-4);
  const evaluations = n + refined.evaluations;
  return refined.fx <= bestF ? { ...refined, evaluations } : { x: a + best * step, fx: bestF, evaluations };
}
