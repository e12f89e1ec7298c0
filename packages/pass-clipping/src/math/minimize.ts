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
 *
 * With `lowerBound` (lowerBound(x) <= f(x) everywhere, and cheaper), the
 * scan runs from b down and skips a point whose bound already exceeds the
 * best value found: such a point cannot be the minimum, so the answer is
 * the same (on equal values the smallest x still wins), with fewer calls.
 */
export function gridThenGolden(f: (x: number) => number, a: number, b: number, points = 64, tol?: number, lowerBound?: (x: number) => number): Minimum {
  const n = Math.max(3, points);
  const step = (b - a) / (n - 1);
  let best = 0;
  let bestF = Infinity;
  let evaluations = 0;
  if (lowerBound) {
    for (let i = n - 1; i >= 0; i--) {
      const x = a + i * step;
      // A margin for the bound's own rounding: skipping a point that ties the best would change the answer.
      if (lowerBound(x) > bestF * (1 + 1e-9)) continue;
      const v = f(x);
      evaluations++;
      if (v <= bestF) { bestF = v; best = i; }
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = f(a + i * step);
      evaluations++;
      if (v < bestF) { bestF = v; best = i; }
    }
  }
  const lo = a + Math.max(0, best - 1) * step;
  const hi = a + Math.min(n - 1, best + 1) * step;
  const refined = goldenSection(f, lo, hi, tol ?? Math.abs(step) * 1e-4);
  evaluations += refined.evaluations;
  return refined.fx <= bestF ? { ...refined, evaluations } : { x: a + best * step, fx: bestF, evaluations };
}
