import { NibbleError } from './errors';

/**
 * A small deterministic generator, xoshiro128** seeded through splitmix32.
 * Only 32-bit integer operations (Math.imul, shifts), so the same seed gives
 * the same sequence on every machine and engine: a dataset's shuffled order,
 * a calibration subset and synthetic test tensors are reproducible.
 * Not for cryptography.
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
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in (0, 1): never exactly 0, for logarithms. */
  uniformOpen(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    return u;
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

  /** Normal(mean, std) by Box-Muller (one value per two uniforms). */
  normal(mean = 0, std = 1): number {
    const r = Math.sqrt(-2 * Math.log(this.uniformOpen()));
    return mean + std * r * Math.cos(2 * Math.PI * this.uniform());
  }

  /** Laplace(mean, b) by inverting its CDF. */
  laplace(mean = 0, b = 1): number {
    const u = this.uniformOpen() - 0.5;
    return mean - b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  }

  /** n draws of `draw` (one of the above, or a function of them) into a Float64Array. */
  fill(n: number, draw: (r: SeededRandom) => number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = draw(this);
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
