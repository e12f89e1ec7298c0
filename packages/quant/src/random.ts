/**
 * A small seeded generator (xoshiro128**, seeded through splitmix32) so that
 * tests, benchmarks and synthetic tensors are the same on every machine and
 * run. Not for cryptography.
 */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform in (0, 1): never exactly 0, for logarithms. */
  uniformOpen(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    return u;
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

  /** n samples of one of the above into a Float64Array. */
  fill(n: number, draw: (r: SeededRandom) => number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = draw(this);
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
