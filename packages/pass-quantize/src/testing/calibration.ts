import { type Executor, EXECUTOR_FACTORY, type PassContext } from '@nibble/core';
import { type Graph, Tensor } from '@nibble/ir';
import { CALIBRATION_DATA, CALIBRATION_OPTIONS, type CalibrationOptions } from '@nibble/stats';

/**
 * Calibration without running a model: each batch lists the activations the
 * "executor" returns for its samples, so a test sets the exact samples a
 * value's statistics are taken of. The real CALIBRATION_STATS analysis
 * computes the statistics, as it would from onnxruntime's outputs. It may
 * cut batches into smaller runs, always in order, so the executor hands out
 * the rows of the next samples (from the first again on each pass).
 */
export function fakeCalibration(ctx: PassContext, graph: Graph, batches: readonly Record<string, Tensor>[], options: CalibrationOptions = {}): void {
  const input = graph.inputs[0];
  const names = Object.keys(batches[0]).filter((n) => n !== input.name);
  const feeds = batches.map((b) => {
    if (b[input.name]) return b[input.name];
    const n = b[names[0]].shape[0];
    const shape = [n, ...(input.type?.shape ?? [1]).slice(1).map((d) => (typeof d === 'number' ? d : 1))];
    return new Tensor('float32', shape);
  });
  // Every activation as one row per sample, in data order.
  const rows = new Map(names.map((name) => [name, batches.flatMap((b) => {
    const t = b[name];
    const per = t.size / t.shape[0];
    const data = t.toFloat32();
    return Array.from({ length: t.shape[0] }, (_, i) => ({ shape: t.shape.slice(1), data: data.subarray(i * per, (i + 1) * per) }));
  })]));
  let cursor = 0;
  const executor: Executor = {
    inputNames: [input.name],
    outputNames: graph.outputs.map((v) => v.name),
    async run(f, fetch = []) {
      const n = f[input.name].shape[0];
      const at = cursor;
      cursor += n;
      return Object.fromEntries(fetch.map((name) => {
        const r = rows.get(name)!.slice(at, at + n);
        const data = new Float32Array(r.reduce((k, x) => k + x.data.length, 0));
        r.forEach((x, i) => data.set(x.data, i * x.data.length));
        return [name, new Tensor('float32', [n, ...r[0].shape], data)];
      }));
    },
    async dispose() {},
  };
  ctx.services.set(EXECUTOR_FACTORY, async () => executor);
  ctx.services.set(CALIBRATION_DATA, {
    samples: feeds.reduce((s, t) => s + t.shape[0], 0),
    description: 'fake',
    async *batches() {
      cursor = 0;
      for (const t of feeds) yield { [input.name]: t };
    },
  });
  // The input's statistics too when a batch gives it (bias folding reads a layer input's means).
  const observed = batches[0][input.name] ? [input.name, ...names] : names;
  ctx.services.set(CALIBRATION_OPTIONS, { values: observed, ...options });
}

/** mulberry32, so samples are the same on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Laplace(mu, b) samples by inversion. */
export function laplace(rand: () => number, mu: number, b: number): number {
  const u = rand() - 0.5;
  return mu - b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

/** An activation [N, C, H, W] whose channel c holds Laplace(mu[c], b[c]) samples. */
export function laplaceActivation(rand: () => number, shape: [number, number, number, number], mu: readonly number[], b: readonly number[]): Tensor {
  const [N, C, H, W] = shape;
  const data = new Float32Array(N * C * H * W);
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / (H * W)) % C;
    data[i] = laplace(rand, mu[c], b[c]);
  }
  return new Tensor('float32', shape, data);
}

/** `batches` batches in which every named activation [N, C, H, W] holds Laplace samples, per channel mu = c - 1, b = 1 + c / 2. */
export function laplaceActivations(seed: number, shapes: Record<string, [number, number, number, number]>, batches = 4): Record<string, Tensor>[] {
  const rand = seeded(seed);
  return Array.from({ length: batches }, () => Object.fromEntries(Object.entries(shapes).map(([name, shape]) => {
    const C = shape[1];
    return [name, laplaceActivation(rand, shape, Array.from({ length: C }, (_, c) => c - 1), Array.from({ length: C }, (_, c) => 1 + c / 2))];
  })));
}
