import { SeededRandom } from '@nibble/ir';

/*
 * Seeded data for tests. New test data comes from @nibble/ir's SeededRandom;
 * `lcg` stays for the tests whose expected values were measured on its exact
 * sequence (the small conv net's weights and inputs: the QDQ agreement
 * counts, the recipes' accuracy figures and the batch-invariance checks of
 * the nibble facade depend on them), so it lives here once.
 */

/** A 32-bit linear congruential generator (Numerical Recipes' constants): uniform in [0, 1), the same on every machine. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/**
 * `n` uniform values in [lo, hi) as float32 (they become float32 weights and
 * inputs), from a seed or from a generator the caller goes on drawing from.
 * Each is lo + (hi - lo) k / 2^24 for a random 24-bit k.
 */
export function randomFloats(n: number, seed: number | SeededRandom, lo = -1, hi = 1): Float32Array {
  const rand = typeof seed === 'number' ? new SeededRandom(seed) : seed;
  return Float32Array.from({ length: n }, () => lo + ((rand.nextUint32() >>> 8) / 2 ** 24) * (hi - lo));
}
