/**
 * Test support (not exported from the package): a seeded generator, samplers of
 * the distributions ACIQ assumes, and float64 brute-force references.
 */

/** xoshiro128** seeded through splitmix32: same sequence on every machine. */
export function rng(seed: number): () => number {
  let z = seed >>> 0;
  const split = () => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
    return (t ^ (t >>> 16)) >>> 0;
  };
  const s = [split(), split(), split(), split()];
  return () => {
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return (r + 0.5) / 4294967296; // in (0, 1): safe for logs
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export type Sampler = (u: () => number) => number;

export const uniform = (a: number, b: number): Sampler => (u) => a + (b - a) * u();
export const gaussian = (mu: number, sigma: number): Sampler => (u) =>
  mu + sigma * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
export const laplace = (mu: number, b: number): Sampler => (u) => {
  const p = u() - 0.5;
  return mu - b * Math.sign(p) * Math.log(1 - 2 * Math.abs(p));
};
/** Pre-ReLU-like: a mixture of a narrow peak and a wide one-sided tail. */
export const mixture: Sampler = (u) => (u() < 0.7 ? 0.05 * gaussian(0, 1)(u) : -Math.log(u()) * 3);
/** Heavy tails (Student t with 3 degrees of freedom). */
export const studentT3: Sampler = (u) => {
  const z = gaussian(0, 1)(u);
  let chi = 0;
  for (let i = 0; i < 3; i++) chi += gaussian(0, 1)(u) ** 2;
  return z / Math.sqrt(chi / 3);
};

export function sample(n: number, f: Sampler, seed: number): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f(u);
  return out;
}

export interface Brute {
  count: number;
  min: number;
  max: number;
  mean: number;
  variance: number;
  mad: number;
}

/** Float64 brute force over all values at once. */
export function brute(values: ArrayLike<number>): Brute {
  const n = values.length;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    sum += values[i];
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
  }
  const mean = sum / n;
  let ss = 0;
  let sa = 0;
  for (let i = 0; i < n; i++) {
    ss += (values[i] - mean) ** 2;
    sa += Math.abs(values[i] - mean);
  }
  return { count: n, min, max, mean, variance: ss / (n - 1), mad: sa / n };
}

/** Values of channel c along axis 1 of a [N, C, ...] array, in memory order. */
export function channelValues(data: Float32Array, shape: readonly number[], axis: number, c: number): Float32Array {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  const C = shape[axis];
  const out = new Float32Array(outer * inner);
  for (let o = 0; o < outer; o++) out.set(data.subarray((o * C + c) * inner, (o * C + c + 1) * inner), o * inner);
  return out;
}

export function relErr(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

/** Splits values into consecutive batches of the given sizes (the last takes the rest). */
export function batches(values: Float32Array, size: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.subarray(i, Math.min(values.length, i + size)));
  return out;
}
