import { NibbleError } from '@nibble/ir';

/**
 * A small deterministic generator, xoshiro128** seeded through splitmix32.
 * Only 32-bit integer operations (Math.imul, shifts), so the same seed gives
 * the same sequence on every machine and engine, which is what makes a
 * dataset's shuffled order and calibration subset reproducible.
 */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new NibbleError('E_BAD_OPTION', `seed ${seed} is not a non-negative integer`, { option: 'seed' });
    }
    // Both 32-bit halves of the seed feed splitmix32, so seeds above 2^32 differ too.
    let z = (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296), 0x9e3779b9);
    const next = (): number => {
      z = (z + 0x9e3779b9) | 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      return (t ^ (t >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), n <= 2^32, without modulo bias. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) {
      throw new NibbleError('E_INTERNAL', `nextInt(${n}): n must be an integer in [1, 2^32]`);
    }
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

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
