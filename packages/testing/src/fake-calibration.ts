import { type Executor, EXECUTOR_FACTORY, type PassContext } from '@nibble/core';
import { type Graph, Tensor } from '@nibble/ir';
import { CALIBRATION_DATA, CALIBRATION_OPTIONS, type CalibrationOptions } from '@nibble/stats';

/**
 * Calibration without running a model, for the quantization passes' tests:
 * each batch lists the activations the "executor" returns for its samples,
 * so a test sets the exact samples a value's statistics are taken of. The
 * real CALIBRATION_STATS analysis computes the statistics, as it would from
 * onnxruntime's outputs. It may cut batches into smaller runs, always in
 * order, so the executor hands out the rows of the next samples (from the
 * first again on each pass). Only the named activations exist, so they are
 * given to the analysis as `values`: its default choice is not exercised here.
 * The fake executor can only hand out those activations, not run a graph
 * with statistics built in, so the analysis takes its fetch-to-JS path.
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
  ctx.services.set(CALIBRATION_OPTIONS, { values: observed, engine: false, ...options });
}
