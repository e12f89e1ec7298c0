import { NibbleError, SeededRandom } from '@nibble/ir';

/** A seeded permutation of 0..n-1 (Fisher-Yates). */
export function permutation(n: number, seed: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rng = new SeededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export interface OrderOptions {
  /** At most this many samples (default: all). */
  limit?: number;
  /** Seed of the shuffle (default 0). */
  seed?: number;
  /** Visit samples in a seeded random order instead of 0, 1, 2, ... (default false). */
  shuffle?: boolean;
}

/**
 * The sample indices a pass visits: the first `limit` of either the natural
 * order or the seeded permutation. A shuffled subset of size k is a prefix of
 * the shuffled subset of size k + 1 with the same seed.
 */
export function sampleOrder(length: number, options: OrderOptions = {}): Int32Array {
  const limit = options.limit ?? length;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new NibbleError('E_BAD_OPTION', `limit ${limit} is not a non-negative integer`, { option: 'limit' });
  }
  const k = Math.min(limit, length);
  if (!options.shuffle) {
    const out = new Int32Array(k);
    for (let i = 0; i < k; i++) out[i] = i;
    return out;
  }
  return permutation(length, options.seed ?? 0).slice(0, k);
}
