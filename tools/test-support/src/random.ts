/**
 * Deterministic pseudo-random floats in [lo, hi) from a 32-bit LCG: cheap,
 * and the same on every machine, so synthetic weights and inputs (and the
 * tolerances tuned on them) never change between runs.
 */
export function randomFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 2 ** 24) * (hi - lo);
  }
  return out;
}
