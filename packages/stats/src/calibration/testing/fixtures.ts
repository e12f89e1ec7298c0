import type { Executor } from '@nibble/core';
import { attr, createModel, Graph, type Model, Tensor, type Value } from '@nibble/ir';
import { rng } from '../../testing';
import type { CalibrationData } from '../service';

/**
 * x[N,3,8,8] -> conv1 (4, 3x3 pad 1) -> relu -> conv2 (6, 3x3 stride 2) + a
 * 1x1 stride-2 shortcut -> add -> Mul by a Constant-node scale -> relu ->
 * GlobalAveragePool -> Reshape to [N, 6] (target computed by Shape -> Slice
 * -> Concat, a shape path the analysis must skip) -> Gemm (B [6,5], not
 * transposed). Intermediate values carry no types, as in many imported files.
 */
export function smallConvNet(): Model {
  const u = rng(11);
  const fill = (shape: number[], scale = 0.5) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return new Tensor('float32', shape, Float32Array.from({ length: n }, () => scale * (2 * u() - 1)));
  };
  const g = new Graph('small-convnet');
  const init = (name: string, shape: number[], scale?: number) => g.addInitializer(name, fill(shape, scale));
  const x = g.addInput('x', { dtype: 'float32', shape: ['N', 3, 8, 8] });
  const node = (opType: string, name: string, inputs: (Value | null)[], attributes = {}) =>
    g.addNode({ opType, name, inputs, outputs: [name], attributes }).outputs[0];
  const conv = (attrs: { k: number; s: number; p: number }) => ({
    kernel_shape: attr.ints([attrs.k, attrs.k]), strides: attr.ints([attrs.s, attrs.s]), pads: attr.ints([attrs.p, attrs.p, attrs.p, attrs.p]),
  });
  const c1 = node('Conv', 'c1', [x, init('w1', [4, 3, 3, 3]), init('b1', [4])], conv({ k: 3, s: 1, p: 1 }));
  const r1 = node('Relu', 'r1', [c1]);
  const c2 = node('Conv', 'c2', [r1, init('w2', [6, 4, 3, 3]), init('b2', [6])], conv({ k: 3, s: 2, p: 1 }));
  const sc = node('Conv', 'sc', [x, init('w3', [6, 3, 1, 1]), init('b3', [6], 2)], conv({ k: 1, s: 2, p: 0 }));
  const sum = node('Add', 'sum', [c2, sc]);
  const scale = g.addNode({
    opType: 'Constant', name: 'scale_const', inputs: [], outputs: ['scale'],
    attributes: { value: attr.tensor(Tensor.from('float32', [1, 6, 1, 1], [0.5, 1, 1.5, 2, -1, 3])) },
  }).outputs[0];
  const scaled = node('Mul', 'scaled', [sum, scale]);
  const r2 = node('Relu', 'r2', [scaled]);
  const gap = node('GlobalAveragePool', 'gap', [r2]);
  const shape = node('Shape', 'shp', [gap]);
  const i64 = (name: string, v: number[]) => g.addInitializer(name, Tensor.from('int64', [v.length], v));
  const batch = node('Slice', 'batch', [shape, i64('zero', [0]), i64('one', [1])]);
  const target = node('Concat', 'target', [batch, i64('minus_one', [-1])], { axis: attr.int(0) });
  const flat = node('Reshape', 'flat', [gap, target]);
  const logits = node('Gemm', 'logits', [flat, init('wfc', [6, 5]), init('bfc', [5])]);
  g.addOutput(logits);
  return createModel(g, 17, 8);
}

/** Observed activations of smallConvNet, in graph order. */
export const SMALL_NET_ACTIVATIONS = ['x', 'c1', 'r1', 'c2', 'sc', 'sum', 'scaled', 'r2', 'gap', 'flat', 'logits'];

/** Seeded inputs [n, 3, 8, 8]: per-channel offsets and scales, so channels differ. */
export function seededInputs(n: number, seed: number): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(n * 3 * 64);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / 64) % 3;
    out[i] = (c - 1) * 0.7 + (1 + c) * (2 * u() - 1);
  }
  return out;
}

/** In-memory calibration data: `x` split into batches of `batch` samples (the last may be smaller). */
export function arrayData(input: string, x: Float32Array, sampleShape: number[], batch: number): CalibrationData & { calls: number } {
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const n = x.length / per;
  const data = {
    samples: n,
    description: `seeded ${n} samples`,
    calls: 0,
    async *batches() {
      data.calls++;
      for (let s = 0; s < n; s += batch) {
        const k = Math.min(batch, n - s);
        yield { [input]: new Tensor('float32', [k, ...sampleShape], x.slice(s * per, (s + k) * per)) };
      }
    },
  };
  return data;
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

export interface Reference {
  count: number; min: number; max: number; mean: number; variance: number; std: number; mad: number;
}

/** Float64 brute force over all values at once: sums, then deviations about the exact-as-possible mean. */
export function reference(values: Float64Array): Reference {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const n = values.length;
  // A second correction pass makes the float64 mean itself accurate to rounding.
  let mean = sum / n;
  let r = 0;
  for (const v of values) r += v - mean;
  mean += r / n;
  let ss = 0;
  let sa = 0;
  for (const v of values) {
    ss += (v - mean) ** 2;
    sa += Math.abs(v - mean);
  }
  const variance = n > 1 ? ss / (n - 1) : 0;
  return { count: n, min, max, mean, variance, std: Math.sqrt(variance), mad: sa / n };
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

export function concat(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Relative difference, with an absolute floor for values near zero (a mean of a centred channel). */
export function relDiff(got: number, want: number, floor = 1e-12): number {
  if (got === want) return 0;
  return Math.abs(got - want) / Math.max(Math.abs(want), floor);
}
