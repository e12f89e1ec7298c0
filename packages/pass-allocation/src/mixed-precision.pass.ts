import { definePass, EXECUTOR_FACTORY, type Executor, modelForGraph, type PassContext } from '@nibble/core';
import { cloneModel, type Graph, markedValues, type Model, NibbleError, type QuantPoint, Tensor, type Value } from '@nibble/ir';
import { fakeQuantize, insertFakeQuantize, levelGridOf, paramsFromRange } from '@nibble/quant';
import { CALIBRATION_DATA } from '@nibble/stats';
import { refreshRanges } from './refresh-ranges';

/** What mixed-precision reports per weight or activation (report key 'layer'). */
export interface LayerSensitivity {
  value: string;
  /** The output's SQNR in dB when only this value is quantized at its widths (null: the output did not change). */
  sqnrDb: number | null;
  /** Parameters of the weight; for an activation, its elements per sample. */
  params: number;
  /** Mean bits before and after the choice. */
  bitsBefore: number;
  bitsAfter: number;
}

/*
 * Sensitivity-driven layer precision (what AIMET's automatic mixed precision
 * and HAWQ do, measured here rather than estimated): each marked weight
 * (target=weights) or activation (target=activations) is fake-quantized
 * alone, at the widths and clip ranges the pipeline gave it, in an
 * otherwise float model; the model runs on a few calibration batches, and
 * the output's SQNR against the float model is that value's sensitivity.
 * The values whose quantization costs the output most per added bit then
 * get `high-bits` until the mean width reaches the budget: bits per weight
 * parameter (the file's size), or bits per activation element of one
 * sample (the memory traffic between layers). The compact heads of
 * published models were measured to collapse from weight error alone
 * (docs/published-models.md); on the zoo MobileNetV2 most of W4A4's loss is
 * in the 4-bit activations (docs/accuracy.md), which target=activations
 * reaches.
 */
export const mixedPrecisionPass = definePass({
  name: 'mixed-precision',
  summary: 'measure each weight\'s (or activation\'s) effect on the output when quantized alone; the most sensitive keep high-bits within a budget',
  description: [
    'Runs after the values have widths and ranges (quant-policy, clip-*, alloc-bits) and before quantize.',
    'Sensitivity: output SQNR (all graph outputs, float model as reference) with only that value fake-quantized,',
    'on the first calibration batches holding at least `samples` samples. Greedy: the largest output noise per',
    'added bit first, each promoted value to high-bits on every channel, while the mean width (weights: per',
    'parameter; activations: per element of one sample) stays within size-budget. Promoted ranges are',
    'recomputed by their clipping pass. target=activations needs every activation\'s range set (a clipping pass).',
    'low-bits=L: each value is also measured at L bits, and a raise the budget cannot hold is paid by lowering the',
    'values that cost the output least per bit removed to L, when the noise removed exceeds the noise added.',
  ].join('\n'),
  options: {
    sizeBudget: { type: 'number', min: 1, max: 8, description: 'mean bits the target may reach (e.g. 5: most layers at 4 bits, the sensitive ones at 8); with low-bits and no size-budget, the mean they hold now' },
    target: { type: 'enum', values: ['weights', 'activations'], default: 'weights', description: 'which values compete for the budget: weights (bits per parameter) or activations (bits per element)' },
    highBits: { type: 'integer', default: 8, min: 2, max: 8, description: 'the width a sensitive value gets' },
    lowBits: { type: 'integer', default: 0, min: 0, max: 8, description: 'a width the least sensitive values may drop to, paying for raises beyond the budget (0: none)' },
    samples: { type: 'integer', default: 32, min: 1, max: 4096, description: 'calibration samples the sensitivity is measured on' },
  },
  preserves: 'all',
  async run(graph, ctx, opts) {
    const noun = opts.target === 'activations' ? 'activation' : 'weight';
    if (opts.sizeBudget === undefined && opts.lowBits === 0) {
      throw new NibbleError('E_BAD_OPTION', 'mixed-precision: size-budget is required (mean bits per weight parameter, e.g. 5), unless low-bits is given', {
        pass: 'mixed-precision', option: 'size-budget', hint: 'write mixed-precision{size-budget=5}, or mixed-precision{low-bits=3} to trade bits between values at the mean width they hold',
      });
    }
    const data = await calibrationBatches(ctx, opts.samples);
    const layers = opts.target === 'activations'
      ? await activationsOf(markedValues(graph, 'activations').filter(({ value }) => !value.isGraphOutput), graph, ctx, data)
      : markedValues(graph, 'weights').map(({ value, point }) => layerOf(value, point));
    if (layers.length === 0) {
      throw new NibbleError('E_BAD_OPTION', `mixed-precision: no ${noun} is marked for quantization`, { pass: 'mixed-precision', hint: 'run quant-policy (and a clipping pass) before mixed-precision' });
    }
    const total = layers.reduce((s, w) => s + w.params, 0);
    const meanNow = layers.reduce((s, w) => s + w.params * w.meanBits, 0) / total;
    const unit = opts.target === 'activations' ? 'bits per activation element' : 'bits per parameter';
    // Without a budget (low-bits given): trade bits at the mean the values hold now.
    const budget = opts.sizeBudget ?? meanNow;
    if (meanNow > budget + 1e-9) {
      throw new NibbleError('E_BUDGET', `mixed-precision: the ${noun}s already hold ${meanNow.toFixed(3)} ${unit}, above size-budget ${opts.sizeBudget}`, {
        pass: 'mixed-precision', option: 'size-budget', hint: `give a size-budget of at least ${meanNow.toFixed(2)}, or lower the widths earlier in the pipeline${opts.target === 'weights'
          ? ' (quant-policy{first-last-bits=W} puts the first and last layers at the others\' width, and the measured sensitivity then decides which layers get more bits)' : ''}`,
      });
    }
    const probe = await sensitivityProbe(graph, ctx, data);
    const noise: number[] = [];
    for (const [i, l] of layers.entries()) noise.push(await probe(l, `${i + 1}/${layers.length}`));
    // At low-bits: what lowering each value would add (only values above low-bits can drop).
    const low = opts.lowBits > 0 && opts.lowBits < opts.highBits;
    if (opts.lowBits > 0 && !(low && layers.some((l) => l.meanBits > opts.lowBits))) {
      const widest = Math.max(...layers.map((l) => l.meanBits));
      ctx.logger.warn(`mixed-precision: low-bits=${opts.lowBits} is not below ${low ? `any ${noun}'s width (the widest holds ${+widest.toFixed(2)})` : `high-bits=${opts.highBits}`}: `
        + `nothing can be lowered, so no raise is paid for by it${opts.sizeBudget === undefined ? ' and, without a size-budget, nothing changes' : ''}`);
    }
    const noiseLow: (number | null)[] = [];
    for (const [i, l] of layers.entries()) noiseLow.push(low && l.meanBits > opts.lowBits ? await probe(l, `${i + 1}/${layers.length} at ${opts.lowBits} bits`, opts.lowBits) : null);
    // Greedy on output noise per added bit: the knapsack's density rule, which is what a size budget rewards.
    const order = layers.map((w, i) => ({ w, i, cost: w.params * (opts.highBits - w.meanBits) })).filter((x) => x.cost > 0)
      .sort((a, b) => noise[b.i] / b.cost - noise[a.i] / a.cost || a.i - b.i);
    // Lowering candidates, cheapest noise per freed bit first.
    const drops = layers.map((w, i) => ({ i, freed: w.params * (w.meanBits - opts.lowBits), added: Math.max(0, (noiseLow[i] ?? Infinity) - noise[i]) }))
      .filter((x) => noiseLow[x.i] !== null && x.freed > 0).sort((a, b) => a.added / a.freed - b.added / b.freed || a.i - b.i);
    let room = budget * total - meanNow * total;
    const promoted = new Set<number>();
    const lowered = new Set<number>();
    for (const { i, cost } of order) {
      if (noise[i] === 0 || lowered.has(i)) continue;
      if (cost <= room + 1e-9) {
        room -= cost;
        promoted.add(i);
        continue;
      }
      // Pay for the rest by lowering values not yet chosen, if the noise this raise removes exceeds what they add.
      const pay: number[] = [];
      let freed = 0;
      let added = 0;
      for (const d of drops) {
        if (freed >= cost - room - 1e-9) break;
        if (d.i === i || lowered.has(d.i) || promoted.has(d.i)) continue;
        pay.push(d.i);
        freed += d.freed;
        added += d.added;
      }
      if (freed < cost - room - 1e-9 || added >= noise[i]) continue;
      for (const j of pay) lowered.add(j);
      room += freed - cost;
      promoted.add(i);
    }
    const refreshed: Value[] = [];
    const widthOf = (w: Layer, i: number) => (promoted.has(i) ? opts.highBits : lowered.has(i) ? opts.lowBits : w.meanBits);
    const db = (x: number) => (x === 0 ? null : -10 * Math.log10(x));
    layers.forEach((w, i) => {
      const bitsAfter = widthOf(w, i);
      const record: LayerSensitivity = { value: w.value.name, sqnrDb: db(noise[i]), params: w.params, bitsBefore: w.meanBits, bitsAfter };
      ctx.report.record('layer', { ...record, target: opts.target, ...(noiseLow[i] !== null ? { sqnrLowDb: db(noiseLow[i]!) } : {}) }, w.value.name);
      if (!promoted.has(i) && !lowered.has(i)) return;
      const q = w.value.quant!;
      const channels = q.bits?.length ?? (q.range ? q.range.lo.length : 1);
      w.value.quant = { ...q, bits: new Int32Array(channels).fill(bitsAfter) };
      // A grid of levels that are not a power of two belongs to the old width: the new one has 2^high-bits.
      delete w.value.quant.levels;
      if (q.range) refreshed.push(w.value);
    });
    await refreshRanges(graph, ctx, refreshed, 'mixed-precision');
    const meanAfter = layers.reduce((s, w, i) => s + w.params * widthOf(w, i), 0) / total;
    ctx.report.record('promoted', { target: opts.target, layers: promoted.size, lowered: lowered.size, of: layers.length, meanBitsBefore: meanNow, meanBitsAfter: meanAfter, budget });
    return { graph, modified: promoted.size + lowered.size > 0 };
  },
});

interface Layer {
  value: Value;
  point: QuantPoint;
  /** Parameters (a weight) or elements of one sample (an activation): the value's share of the budget. */
  params: number;
  /** Size-weighted mean width over the channels. */
  meanBits: number;
  /** Makes the value fake-quantized in `m`, a float copy of the graph (at `bits` on every channel when given, on the same range). */
  install(m: Model, bits?: number): void;
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
  const layer: Layer = {
    value, point, params: weight.size, meanBits,
    install(m, bits) {
      const v = [...m.graph.initializers].find((x) => x.name === value.name);
      if (!v) throw new NibbleError('E_INTERNAL', `mixed-precision: '${value.name}' is not an initializer of the copied graph`, { pass: 'mixed-precision', value: value.name });
      v.const = fakeQuantized(weight, value, point, bits);
    },
  };
  return layer;
}

/**
 * An activation as a competitor for the budget: its elements per sample
 * (every channel holds the same number of them), and in the float copy a
 * clamp to its range, rounding to its grid's steps and back, in float ops
 * any onnxruntime runs (Min, Max, Sub, Div, Round, Mul, Add, broadcast per
 * channel): the simulation's levels, without QuantizeLinear's container limits.
 */
async function activationsOf(marked: readonly { value: Value; point: QuantPoint }[], graph: Graph, ctx: PassContext, data: readonly Record<string, Tensor>[]): Promise<Layer[]> {
  for (const { value } of marked) {
    const q = value.quant;
    if (!q?.range || q.scale) {
      throw new NibbleError('E_BAD_OPTION', `mixed-precision{target=activations}: activation '${value.name}' has ${q?.scale ? 'been quantized already' : 'no clip range yet'}`, {
        pass: 'mixed-precision', value: value.name, hint: 'run a clipping pass for the activations (e.g. clip-minmax) before mixed-precision, and quantize after it',
      });
    }
  }
  const isStatic = (v: Value) => { const s = v.type?.shape; return !!s && s.length >= 1 && s.slice(1).every((d) => typeof d === 'number'); };
  // A dynamic axis past the batch (a text line's width): the shape the first calibration batch gives it.
  const measured = await shapesOnData(graph, ctx, data[0], marked.map(({ value }) => value).filter((v) => !isStatic(v)));
  return marked.map(({ value, point }) => activationOf(value, point, isStatic(value) ? value.type!.shape! as number[] : measured.get(value.name)!));
}

/** The shapes of `values` when the float model runs on one calibration batch. */
async function shapesOnData(graph: Graph, ctx: PassContext, batch: Record<string, Tensor>, values: readonly Value[]): Promise<Map<string, number[]>> {
  const shapes = new Map<string, number[]>();
  if (values.length === 0) return shapes;
  const names = values.map((v) => v.name);
  const executor = await ctx.service(EXECUTOR_FACTORY)(modelForGraph(ctx.services, graph), { extraOutputs: names });
  try {
    const r = await executor.run(batch, names);
    for (const n of names) shapes.set(n, [...r[n].shape]);
  } finally {
    await executor.dispose();
  }
  return shapes;
}

function activationOf(value: Value, point: QuantPoint, shape: readonly number[]): Layer {
  const q = value.quant!;
  const elements = shape.slice(1).reduce((a, b) => a * b, 1);
  const channels = q.range!.lo.length;
  const given = q.bits ?? new Int32Array(channels).fill(point.bits);
  const meanBits = given.reduce((s, b) => s + b, 0) / given.length;
  return {
    value, point, params: elements, meanBits,
    install(m, width) {
      const g = m.graph;
      const x = g.value(value.name);
      if (!x) throw new NibbleError('E_INTERNAL', `mixed-precision: '${value.name}' is not a value of the copied graph`, { pass: 'mixed-precision', value: value.name });
      const bits = width !== undefined ? new Int32Array(channels).fill(width) : given;
      const p = paramsFromRange({ lo: q.range!.lo, hi: q.range!.hi, bits, axis: q.axis, signed: point.signed, name: value.name, ...(q.levels && width === undefined ? { levels: q.levels } : {}) });
      // A 0-bit channel is a constant: the middle of its range (quantize would take its calibration mean).
      const middle = Float64Array.from(q.range!.lo, (lo, c) => (lo + q.range!.hi[c]) / 2);
      insertFakeQuantize(g, x, levelGridOf(p, middle), shape.length);
    },
  };
}

/** The weight on the grid the pipeline chose for it: its ranges (min/max where none yet) at its widths. */
function fakeQuantized(weight: Tensor, value: Value, point: QuantPoint, width?: number): Tensor {
  const q = value.quant;
  const axis = q ? q.axis : point.perChannel ? point.axis : null;
  const x = weight.toFloat64();
  const shape = weight.shape as number[];
  const channels = axis === null ? 1 : shape[axis];
  const bits = width !== undefined ? new Int32Array(channels).fill(width) : q?.bits ?? new Int32Array(channels).fill(point.bits);
  const range = q?.range ?? observedRange(x, shape, axis);
  const p = paramsFromRange({ lo: range.lo, hi: range.hi, bits, axis, signed: point.signed, name: value.name, ...(q?.levels && width === undefined ? { levels: q.levels } : {}) });
  return new Tensor('float32', [...shape], fakeQuantize(x, shape, p, value.name));
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

/**
 * Output noise power over signal power (1 / linear SQNR) with one value alone
 * fake-quantized (at its widths, or at `bits`), on the first calibration
 * batches holding `samples` samples; the float reference is run once.
 */
async function sensitivityProbe(graph: Graph, ctx: PassContext, batches: readonly Record<string, Tensor>[]): Promise<(l: Layer, label: string, bits?: number) => Promise<number>> {
  const factory = ctx.service(EXECUTOR_FACTORY);
  const float = modelForGraph(ctx.services, graph);
  const reference = await outputsOf(await factory(float), batches);
  return async (l, label, bits) => {
    const m: Model = cloneModel(float);
    l.install(m, bits);
    const out = await outputsOf(await factory(m), batches);
    let s = 0;
    let e = 0;
    for (let k = 0; k < out.length; k++) {
      s += reference[k] * reference[k];
      e += (out[k] - reference[k]) ** 2;
    }
    const noise = s > 0 ? e / s : e > 0 ? Infinity : 0;
    ctx.logger.info(`mixed-precision: ${label} ${l.value.name}: ${noise === 0 ? 'no change' : `${(-10 * Math.log10(noise)).toFixed(1)} dB`}`);
    return noise;
  };
}

/** The first calibration batches holding at least `samples` samples. */
async function calibrationBatches(ctx: PassContext, samples: number): Promise<Record<string, Tensor>[]> {
  const batches: Record<string, Tensor>[] = [];
  let seen = 0;
  for await (const b of ctx.service(CALIBRATION_DATA).batches()) {
    batches.push({ ...b });
    seen += Object.values(b)[0]?.shape[0] ?? 0;
    if (seen >= samples) break;
  }
  if (batches.length === 0) throw new NibbleError('E_DATA', 'mixed-precision: the calibration data yielded no samples', { pass: 'mixed-precision' });
  return batches;
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
