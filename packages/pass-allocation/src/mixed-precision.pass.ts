import { definePass, EXECUTOR_FACTORY, type Executor, modelForGraph, type PassContext } from '@nibble/core';
import { cloneModel, type Graph, markedValues, type Model, NibbleError, type QuantPoint, Tensor, type Value } from '@nibble/ir';
import { fakeQuantize, paramsFromRange } from '@nibble/quant';
import { CALIBRATION_DATA } from '@nibble/stats';
import { refreshRanges } from './refresh-ranges';

/** What mixed-precision reports per weight (report key 'layer'). */
export interface LayerSensitivity {
  value: string;
  /** The output's SQNR in dB when only this weight is quantized at its widths (null: the output did not change). */
  sqnrDb: number | null;
  /** Parameters of the weight. */
  params: number;
  /** Mean bits before and after the choice. */
  bitsBefore: number;
  bitsAfter: number;
}

/*
 * Sensitivity-driven layer precision (what AIMET's automatic mixed precision
 * and HAWQ do, measured here rather than estimated): each marked weight is
 * fake-quantized alone, at the widths and clip ranges the pipeline gave it,
 * in an otherwise float model; the model runs on a few calibration batches,
 * and the output's SQNR against the float model is that layer's
 * sensitivity. The layers whose quantization costs the output most per
 * added bit then get `high-bits` until the mean weight width reaches the
 * size budget. Only weights: their error is known exactly without running
 * the quantized activations, and the compact heads of published models were
 * measured to collapse from weight error alone (docs/published-models.md).
 */
export const mixedPrecisionPass = definePass({
  name: 'mixed-precision',
  summary: 'measure each weight\'s effect on the output when quantized alone; the most sensitive keep high-bits within a size budget',
  description: [
    'Runs after the weights have widths and ranges (quant-policy, clip-*, alloc-bits) and before quantize.',
    'Sensitivity: output SQNR (all graph outputs, float model as reference) with only that weight fake-quantized,',
    'on the first calibration batches holding at least `samples` samples. Greedy: the largest output noise per',
    'added bit first, each promoted weight to high-bits on every channel, while the parameter-weighted mean',
    'weight width stays within size-budget. Promoted ranges are recomputed by their clipping pass.',
  ].join('\n'),
  options: {
    sizeBudget: { type: 'number', min: 1, max: 8, description: 'mean bits per weight parameter the model may reach (e.g. 5: most layers at 4 bits, the sensitive ones at 8)' },
    highBits: { type: 'integer', default: 8, min: 2, max: 8, description: 'the width a sensitive layer\'s weights get' },
    samples: { type: 'integer', default: 32, min: 1, max: 4096, description: 'calibration samples the sensitivity is measured on' },
  },
  preserves: 'all',
  async run(graph, ctx, opts) {
    if (opts.sizeBudget === undefined) {
      throw new NibbleError('E_BAD_OPTION', 'mixed-precision: size-budget is required (mean bits per weight parameter, e.g. 5)', {
        pass: 'mixed-precision', option: 'size-budget', hint: 'write mixed-precision{size-budget=5}',
      });
    }
    const weights = markedValues(graph, 'weights').map(({ value, point }) => layerOf(value, point));
    if (weights.length === 0) {
      throw new NibbleError('E_BAD_OPTION', 'mixed-precision: no weight is marked for quantization', { pass: 'mixed-precision', hint: 'run quant-policy (and a clipping pass) before mixed-precision' });
    }
    const total = weights.reduce((s, w) => s + w.params, 0);
    const meanNow = weights.reduce((s, w) => s + w.params * w.meanBits, 0) / total;
    if (meanNow > opts.sizeBudget + 1e-9) {
      throw new NibbleError('E_BUDGET', `mixed-precision: the weights already hold ${meanNow.toFixed(3)} bits per parameter, above size-budget ${opts.sizeBudget}`, {
        pass: 'mixed-precision', option: 'size-budget', hint: `give a size-budget of at least ${meanNow.toFixed(2)}, or lower the widths earlier in the pipeline`,
      });
    }
    const noise = await measureSensitivity(graph, ctx, weights, opts.samples);
    // Greedy on output noise per added bit: the knapsack's density rule, which is what a size budget rewards.
    const order = weights.map((w, i) => ({ w, i, cost: w.params * (opts.highBits - w.meanBits) })).filter((x) => x.cost > 0)
      .sort((a, b) => noise[b.i] / b.cost - noise[a.i] / a.cost || a.i - b.i);
    let room = opts.sizeBudget * total - meanNow * total;
    const promoted = new Set<number>();
    for (const { i, cost } of order) {
      if (noise[i] === 0 || cost > room + 1e-9) continue;
      room -= cost;
      promoted.add(i);
    }
    const refreshed: Value[] = [];
    weights.forEach((w, i) => {
      const bitsAfter = promoted.has(i) ? opts.highBits : w.meanBits;
      const sqnrDb = noise[i] === 0 ? null : -10 * Math.log10(noise[i]);
      const record: LayerSensitivity = { value: w.value.name, sqnrDb, params: w.params, bitsBefore: w.meanBits, bitsAfter };
      ctx.report.record('layer', { ...record }, w.value.name);
      if (!promoted.has(i)) return;
      const q = w.value.quant!;
      w.value.quant = { ...q, bits: new Int32Array(q.bits!.length).fill(opts.highBits) };
      if (q.range) refreshed.push(w.value);
    });
    await refreshRanges(graph, ctx, refreshed, 'mixed-precision');
    const meanAfter = weights.reduce((s, w, i) => s + w.params * (promoted.has(i) ? opts.highBits : w.meanBits), 0) / total;
    ctx.report.record('promoted', { layers: promoted.size, of: weights.length, meanBitsBefore: meanNow, meanBitsAfter: meanAfter, budget: opts.sizeBudget });
    return { graph, modified: promoted.size > 0 };
  },
});

interface Layer {
  value: Value;
  point: QuantPoint;
  weight: Tensor;
  params: number;
  /** Parameter-weighted mean width over the channels. */
  meanBits: number;
}

function layerOf(value: Value, point: QuantPoint): Layer {
  const weight = value.const;
  if (!weight) {
    throw new NibbleError('E_BAD_OPTION', `mixed-precision: weight '${value.name}' is not an initializer`, { pass: 'mixed-precision', value: value.name, hint: 'run fold-constants before mixed-precision' });
  }
  const q = value.quant;
  if (q?.scale) {
    throw new NibbleError('E_BAD_OPTION', `mixed-precision: '${value.name}' is already quantized`, { pass: 'mixed-precision', value: value.name, hint: 'mixed-precision runs before quantize' });
  }
  const bits = q?.bits ?? Int32Array.of(point.bits);
  // Every channel holds the same number of parameters, so the channels' mean is the parameters' mean.
  const meanBits = bits.reduce((s, b) => s + b, 0) / bits.length;
  return { value, point, weight, params: weight.size, meanBits };
}

/** The weight on the grid the pipeline chose for it: its ranges (min/max where none yet) at its widths. */
function fakeQuantized(l: Layer): Tensor {
  const q = l.value.quant;
  const axis = q ? q.axis : l.point.perChannel ? l.point.axis : null;
  const x = l.weight.toFloat64();
  const shape = l.weight.shape as number[];
  const channels = axis === null ? 1 : shape[axis];
  const bits = q?.bits ?? new Int32Array(channels).fill(l.point.bits);
  const range = q?.range ?? observedRange(x, shape, axis);
  const p = paramsFromRange({ lo: range.lo, hi: range.hi, bits, axis, signed: l.point.signed, name: l.value.name, ...(q?.levels ? { levels: q.levels } : {}) });
  return new Tensor('float32', [...shape], fakeQuantize(x, shape, p, l.value.name));
}

function observedRange(x: Float64Array, shape: readonly number[], axis: number | null): { lo: Float64Array; hi: Float64Array } {
  const channels = axis === null ? 1 : shape[axis];
  const inner = axis === null ? x.length : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const lo = new Float64Array(channels).fill(Infinity);
  const hi = new Float64Array(channels).fill(-Infinity);
  for (let i = 0; i < x.length; i++) {
    const c = axis === null ? 0 : Math.floor(i / inner) % channels;
    lo[c] = Math.min(lo[c], x[i]);
    hi[c] = Math.max(hi[c], x[i]);
  }
  return { lo, hi };
}

/** Output noise power over signal power (1 / linear SQNR) with each layer's weight alone quantized. */
async function measureSensitivity(graph: Graph, ctx: PassContext, layers: readonly Layer[], samples: number): Promise<number[]> {
  const factory = ctx.service(EXECUTOR_FACTORY);
  const data = ctx.service(CALIBRATION_DATA);
  const batches: Record<string, Tensor>[] = [];
  let seen = 0;
  for await (const b of data.batches()) {
    batches.push({ ...b });
    seen += Object.values(b)[0]?.shape[0] ?? 0;
    if (seen >= samples) break;
  }
  if (batches.length === 0) throw new NibbleError('E_DATA', 'mixed-precision: the calibration data yielded no samples', { pass: 'mixed-precision' });
  const float = modelForGraph(ctx.services, graph);
  const reference = await outputsOf(await factory(float), batches);
  const noise: number[] = [];
  for (const [i, l] of layers.entries()) {
    const m: Model = cloneModel(float);
    const v = [...m.graph.initializers].find((x) => x.name === l.value.name);
    if (!v) throw new NibbleError('E_INTERNAL', `mixed-precision: '${l.value.name}' is not an initializer of the copied graph`, { pass: 'mixed-precision', value: l.value.name });
    v.const = fakeQuantized(l);
    const out = await outputsOf(await factory(m), batches);
    let s = 0;
    let e = 0;
    for (let k = 0; k < out.length; k++) {
      s += reference[k] * reference[k];
      e += (out[k] - reference[k]) ** 2;
    }
    noise.push(s > 0 ? e / s : e > 0 ? Infinity : 0);
    ctx.logger.info(`mixed-precision: ${i + 1}/${layers.length} ${l.value.name}: ${noise[i] === 0 ? 'no change' : `${(-10 * Math.log10(noise[i])).toFixed(1)} dB`}`);
  }
  return noise;
}

/** Every graph output of every batch, concatenated in order (one vector to compare). */
async function outputsOf(executor: Executor, batches: readonly Record<string, Tensor>[]): Promise<Float64Array> {
  try {
    const parts: Float64Array[] = [];
    for (const b of batches) {
      const r = await executor.run(b);
      for (const name of executor.outputNames) parts.push(r[name].toFloat64());
    }
    const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  } finally {
    await executor.dispose();
  }
}
