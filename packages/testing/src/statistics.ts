import type { Executor } from '@nibble/core';
import type { CalibrationData } from '@nibble/stats';

/*
 * Float64 brute force for the statistics tests: every value held at once,
 * nothing streamed, so the collectors and the calibration analysis are
 * checked against arithmetic that shares no code with them.
 */

export interface BruteStats {
  count: number; min: number; max: number; mean: number; variance: number; std: number; mad: number;
}

/** Sums, then deviations about the exact-as-possible mean; variance with n - 1, mad about the mean. */
export function bruteStats(values: ArrayLike<number>): BruteStats {
  const n = values.length;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // A second correction pass makes the float64 mean itself accurate to rounding.
  let mean = sum / n;
  let r = 0;
  for (let i = 0; i < n; i++) r += values[i] - mean;
  mean += r / n;
  let ss = 0;
  let sa = 0;
  for (let i = 0; i < n; i++) {
    ss += (values[i] - mean) ** 2;
    sa += Math.abs(values[i] - mean);
  }
  const variance = n > 1 ? ss / (n - 1) : 0;
  return { count: n, min, max, mean, variance, std: Math.sqrt(variance), mad: sa / n };
}

/** Relative difference, with an absolute floor for values near zero (a mean of a centred channel). */
export function relDiff(got: number, want: number, floor = 1e-12): number {
  if (got === want) return 0;
  return Math.abs(got - want) / Math.max(Math.abs(want), floor);
}

export function concat(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** All values of channel c along `axis` of the batches, concatenated. */
export function channelOf(batches: readonly { data: Float64Array; shape: number[] }[], axis: number, c: number): Float64Array {
  const parts: Float64Array[] = [];
  for (const b of batches) {
    let outer = 1;
    let inner = 1;
    for (let i = 0; i < axis; i++) outer *= b.shape[i];
    for (let i = axis + 1; i < b.shape.length; i++) inner *= b.shape[i];
    const C = b.shape[axis];
    for (let o = 0; o < outer; o++) parts.push(b.data.subarray((o * C + c) * inner, (o * C + c + 1) * inner));
  }
  return concat(parts);
}

/** Every batch's activations, kept (the brute force's side), fetched through the same kind of executor. */
export async function runAll(executor: Executor, data: CalibrationData, names: readonly string[]): Promise<Map<string, { data: Float64Array; shape: number[] }[]>> {
  const out = new Map<string, { data: Float64Array; shape: number[] }[]>(names.map((n) => [n, []]));
  const fetch = names.filter((n) => !executor.inputNames.includes(n));
  for await (const feeds of data.batches()) {
    const got = { ...feeds, ...(await executor.run(feeds, fetch)) };
    for (const n of names) out.get(n)!.push({ data: got[n].toFloat64(), shape: [...got[n].shape] });
  }
  return out;
}
