import { SeededRandom } from '@nibble/ir';

/**
 * Test support for the collectors' specs (not exported from the package):
 * samplers of the distributions ACIQ assumes, drawn from a seeded generator.
 * The float64 brute force they are checked against is @nibble/testing's
 * bruteStats.
 */

/** Uniform draws in (0, 1) (safe for logs) from SeededRandom. */
export function rng(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.uniformOpen();
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
