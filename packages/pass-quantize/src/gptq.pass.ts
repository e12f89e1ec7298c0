import { definePass, EXECUTOR_FACTORY, type Executor, modelForGraph, type PassContext } from '@nibble/core';
import { BIAS_CORRECTION_KEY, cloneModel, constantTensor, FLOAT_WEIGHT_KEY, type Graph, markedValues, type Model, NibbleError, type Node, Tensor, type Value, WEIGHT_ROUNDING_KEY } from '@nibble/ir';
import { type AffineParams, channelLevelRange, convOperands, insertFakeQuantize, levelGridOf, paramsOfAnnotation, toIntegerTensor } from '@nibble/quant';
import { CALIBRATION_DATA, CALIBRATION_STATS } from '@nibble/stats';
import { codeValue, errorAgainstFloat, floatTarget, gptqCodes, type RowGrid } from './math/gptq';
import { InputMoments } from './math/input-moments';

/** What gptq reports per weight (report key 'weight'). */
export type GptqRecord = {
  layer: string;
  rows: number;
  /** Weights per row that one output sums (the K of H). */
  columns: number;
  groups: number;
  /** Input vectors (output positions x samples) H was summed over. */
  vectors: number;
  damp: number;
  /** The layer's output SQNR on the calibration samples against the float layer on the float inputs, codes rounded to nearest and chosen by GPTQ (dB). */
  nearestDb: number;
  gptqDb: number;
};

/** A weight gptq can reach: its DequantizeLinear, the one layer reading it, and how its rows lie. */
interface Target {
  dq: Node;
  weight: Value;
  layer: Node;
  /** The layer's data input, whose moments are summed. */
  input: Value;
  /** Makes the layer's (empty) input moments. */
  moments: () => InputMoments;
  /** Output rows of the weight: its axis 0, or axis 1 when `transposed` (Gemm without transB, MatMul: [K, N]). */
  rows: number;
  transposed: boolean;
}

/*
 * gptq: after quantize, choose each weight's codes on the grid quantize gave
 * it (GPTQ, math/gptq.ts) where quantize rounds every weight to nearest on
 * its own. Layer by layer in graph order, the layer's inputs x are taken
 * from the model as it will run (the codes chosen so far, every quantized
 * activation on its grid, the layer's own input included) and its float
 * inputs f from the float model, on the same samples; the codes then keep
 * sum (q . x - w . f)^2 small: the layer gives the float layer's outputs
 * from what it will really receive, so it also takes up the upstream
 * layers' error (their mean shifts too, which bias-correct would restore
 * from the weights alone; bias-correct leaves these weights to gptq).
 * Measured (docs/accuracy.md, "GPTQ"): W4A8 nsfwjs mean KL 0.21 -> 0.01; on
 * W4A4 the activations' error dominates and the gain is smaller.
 */
export const gptqPass = definePass({
  name: 'gptq',
  summary: 'choose quantized weight codes column by column so each layer\'s output on the calibration data changes least (GPTQ), instead of rounding to nearest',
  description: [
    'Runs after quantize (it keeps every grid and changes only codes) and before bias-correct (which then leaves',
    'these weights alone). For each quantized weight read by one Conv (2-D, any group), Gemm or MatMul, in graph',
    'order: its input vectors x as the quantized model will run (codes chosen so far, activations on their grids)',
    'and f from the float model, on the first `samples` calibration samples; the codes minimise sum (q.x - w.f)^2:',
    'columns fixed one at a time (largest H_ii = sum x_i^2 first with order=hessian), the free ones absorbing each',
    'rounding error (Frantar et al., GPTQ). Weights of max-bits or more, and layers with fewer than min-vectors',
    'input vectors per column, keep their nearest codes. The report gives each layer\'s output SQNR against the',
    'float layer with nearest and with GPTQ codes.',
  ].join('\n'),
  options: {
    damp: { type: 'number', default: 0.01, min: 0, max: 1, description: 'added to H\'s diagonal, as a fraction of its mean' },
    order: { type: 'enum', values: ['hessian', 'input'], default: 'hessian', description: 'hessian: columns with the largest input energy first (act-order); input: as stored' },
    samples: { type: 'integer', default: 32, min: 1, max: 4096, description: 'calibration samples H is summed over' },
    minVectors: { type: 'number', default: 4, min: 0, max: 1e6, description: 'input vectors per column of H a layer needs (fewer: H says little about new inputs, and GPTQ would fit the calibration samples; the layer keeps its nearest codes)' },
    maxVectors: { type: 'number', default: 1024, min: 1, max: 1e9, description: 'input vectors per column of H summed at most (every k-th output position beyond): bounds the work on large layers' },
    maxBits: { type: 'integer', default: 8, min: 2, max: 8, description: 'weights whose widest channel has this many bits or more keep their nearest codes' },
  },
  preserves: [CALIBRATION_STATS],
  async run(graph, ctx, opts) {
    const weights = graph.nodes.filter((n) => n.opType === 'DequantizeLinear' && n.outputs[0].quant?.scale && n.outputs[0].meta[FLOAT_WEIGHT_KEY]);
    if (weights.length === 0) {
      throw new NibbleError('E_BAD_OPTION', 'gptq: no quantized weights (it chooses the codes quantize leaves)', { pass: 'gptq', hint: 'put gptq after quantize: ...,quantize,gptq,bias-correct' });
    }
    const targets: Target[] = [];
    for (const dq of weights) {
      const out = dq.outputs[0];
      if (out.meta[BIAS_CORRECTION_KEY]) {
        throw new NibbleError('E_BAD_OPTION', `gptq: weight '${out.name}' is already bias-corrected`, { pass: 'gptq', value: out.name, hint: 'put gptq before bias-correct' });
      }
      const why = skipReason(out, opts.maxBits);
      const t = why === undefined ? target(dq) : why;
      if (typeof t === 'string') ctx.report.record('skipped', { reason: t }, out.name);
      else targets.push(t);
    }
    let changed = 0;
    let few = 0;
    if (targets.length > 0) {
      const order = new Map(graph.nodes.map((n, i) => [n, i]));
      targets.sort((a, b) => order.get(a.layer)! - order.get(b.layer)!);
      const batches = await calibrationBatches(ctx, opts.samples);
      const float = floatModel(modelForGraph(ctx.services, graph));
      // One layer at a time, in graph order: each sees the codes chosen before it.
      for (const t of targets) {
        const started = performance.now();
        const moments = await sumMoments(graph, ctx, t, batches, float, opts);
        if (typeof moments === 'string') {
          few++;
          ctx.report.record('skipped', { reason: moments }, t.weight.name);
          continue;
        }
        if (chooseCodes(graph, ctx, t, moments, opts)) changed++;
        ctx.logger.info(`gptq: ${t.weight.name} (${targets.indexOf(t) + 1}/${targets.length}, K=${moments.K}, ${moments.vectors} vectors) ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
    }
    // Nothing wrong comes of it (every code stays the nearest), but a pipeline that asked for gptq should hear it did nothing.
    if (targets.length - few === 0) ctx.logger.warn('gptq: no weight it can reach; every code stays the nearest (the report says why each was left)');
    ctx.report.record('totals', { weights: weights.length, considered: targets.length - few, changed });
    return { graph, modified: changed > 0 };
  },
});

function skipReason(out: Value, maxBits: number): string | undefined {
  if (out.meta[WEIGHT_ROUNDING_KEY]) return 'its codes were already chosen by gptq';
  const bits = out.quant!.bits!;
  if (bits.every((b) => b >= maxBits)) return `${Math.min(...bits)}-bit (max-bits=${maxBits})`;
  if (out.uses.length !== 1) return `read by ${out.uses.length} nodes`;
  return undefined;
}

/** The layer reading `dq`'s output as its weight, or why gptq leaves it. */
function target(dq: Node): Target | string {
  const weight = dq.outputs[0];
  const { node: layer, index } = weight.uses[0];
  const shape = (weight.meta[FLOAT_WEIGHT_KEY] as Tensor).shape;
  const input = layer.inputs[0];
  const std = layer.domain === '' || layer.domain === 'ai.onnx';
  if (!std || index !== 1 || !input) return `read by ${layer.opType} '${layer.name}' other than as its weight`;
  if (layer.opType === 'Conv') {
    let reason: string | undefined;
    const fail = (why: string): never => {
      reason = why;
      throw new Error(why);
    };
    try {
      const { geometry } = convOperands(layer, shape.length - 1, fail);
      if (shape.length !== 4) return `a ${shape.length - 2}-D Conv`;
      return { dq, weight, layer, input, moments: () => InputMoments.forConv(shape[1] * geometry.group, geometry), rows: shape[0], transposed: false };
    } catch (e) {
      if (reason !== undefined) return `Conv '${layer.name}': ${reason}`;
      throw e;
    }
  }
  if (layer.opType === 'Gemm' && shape.length === 2) {
    if (layer.getInt('transA', 0) !== 0) return `Gemm '${layer.name}' has transA=1`;
    const transB = layer.getInt('transB', 0) === 1;
    return { dq, weight, layer, input, moments: () => InputMoments.forRows(transB ? shape[1] : shape[0]), rows: transB ? shape[0] : shape[1], transposed: !transB };
  }
  if (layer.opType === 'MatMul' && shape.length === 2) {
    return { dq, weight, layer, input, moments: () => InputMoments.forRows(shape[0]), rows: shape[1], transposed: true };
  }
  return `read by ${layer.opType} '${layer.name}' (gptq handles 2-D Conv, Gemm and MatMul)`;
}

/** The first calibration batches holding `samples` samples (the last one cut to fit). */
async function calibrationBatches(ctx: PassContext, samples: number): Promise<Record<string, Tensor>[]> {
  const out: Record<string, Tensor>[] = [];
  let seen = 0;
  for await (const batch of ctx.service(CALIBRATION_DATA).batches()) {
    const n = Object.values(batch)[0]?.shape[0] ?? 0;
    const take = Math.min(n, samples - seen);
    out.push(take === n ? { ...batch } : Object.fromEntries(Object.entries(batch).map(([k, t]) => [k, firstSamples(t, take)])));
    seen += take;
    if (seen >= samples) break;
  }
  if (seen === 0) throw new NibbleError('E_DATA', 'gptq: the calibration data yielded no samples', { pass: 'gptq' });
  return out;
}

/** The model with every quantized weight back at its float values: where the float inputs f come from. */
function floatModel(model: Model): Model {
  const m = cloneModel(model);
  const g = m.graph;
  for (const dq of g.nodes.filter((n) => n.opType === 'DequantizeLinear' && n.outputs[0].meta[FLOAT_WEIGHT_KEY])) {
    const out = dq.outputs[0];
    const float = g.addInitializer(g.uniqueName(`${out.name}_float`), out.meta[FLOAT_WEIGHT_KEY] as Tensor);
    for (const u of [...out.uses]) u.node.replaceInput(u.index, float);
  }
  return m;
}

/**
 * `model` cut down, in place, to what computes `name`, its one output: onnxruntime runs every node of a
 * session whatever is fetched, and each layer needs only the part of the model before it.
 */
function slicedTo(model: Model, name: string): Model {
  const g = model.graph;
  const v = g.value(name);
  if (!v) throw new NibbleError('E_INTERNAL', `gptq: no value '${name}' to slice the model to`, { pass: 'gptq', value: name });
  g.outputs.length = 0;
  g.addOutput(v);
  for (const node of [...g.nodes].reverse()) if (node.outputs.every((o) => o.uses.length === 0 && !o.isGraphOutput)) g.removeNode(node);
  for (const init of [...g.initializers]) if (init.uses.length === 0 && !init.isGraphOutput) g.removeInitializer(init);
  return model;
}

/**
 * The model as it will run: a copy with every quantized activation on its grid (in float ops), and the
 * name under which each activation's quantized form can be fetched.
 */
function deployedModel(model: Model): { model: Model; quantized: Map<string, string> } {
  const m = cloneModel(model);
  const quantized = new Map<string, string>();
  for (const { value } of markedValues(m.graph, 'activations')) {
    const rank = value.type?.shape?.length;
    if (!value.quant?.scale || rank === undefined || value.uses.length === 0) continue;
    quantized.set(value.name, insertFakeQuantize(m.graph, value, levelGridOf(paramsOfAnnotation(value.quant, value.name)), rank).name);
  }
  return { model: m, quantized };
}

/**
 * The layer's input moments over the batches: its inputs x as the model will run now (the codes chosen so
 * far, every activation on its grid, this layer's input too), beside the float model's f.
 */
async function sumMoments(
  graph: Graph, ctx: PassContext, t: Target, batches: readonly Record<string, Tensor>[], float: Model, opts: { minVectors: number; maxVectors: number },
): Promise<InputMoments | string> {
  const moments = t.moments();
  const deployed = deployedModel(modelForGraph(ctx.services, graph));
  const name = deployed.quantized.get(t.input.name) ?? t.input.name;
  const fed = graph.inputs.some((v) => v.name === name);
  const floatFed = graph.inputs.some((v) => v.name === t.input.name);
  const factory = ctx.service(EXECUTOR_FACTORY);
  let run: Executor | undefined;
  let floatRun: Executor | undefined;
  try {
    run = fed ? undefined : await factory(slicedTo(deployed.model, name));
    floatRun = floatFed ? undefined : await factory(slicedTo(cloneModel(float), t.input.name));
    for (const feeds of batches) {
      const x = fed ? feeds[name] : (await run!.run(feeds, [name]))[name];
      const f = floatFed ? feeds[t.input.name] : (await floatRun!.run(feeds, [t.input.name]))[t.input.name];
      if (!x || !f) throw new NibbleError('E_INTERNAL', `gptq: no value for '${name}'`, { pass: 'gptq', value: name });
      if (feeds === batches[0]) {
        // The batches hold the same shapes but for a shorter last one: the first tells how many vectors there are.
        const offered = moments.vectorsIn(x.shape as number[]) * batches.length;
        if (offered < opts.minVectors * moments.K) return `${offered} input vectors for ${moments.K} columns (min-vectors=${opts.minVectors} per column)`;
        moments.stride = Math.max(1, Math.ceil(offered / (opts.maxVectors * moments.K)));
      }
      moments.add(x.toFloat64(), x.shape as number[], name, f.toFloat64());
    }
  } finally {
    await run?.dispose();
    await floatRun?.dispose();
  }
  return moments;
}

function firstSamples(t: Tensor, n: number): Tensor {
  const per = t.size / t.shape[0];
  return new Tensor(t.dtype, [n, ...t.shape.slice(1)], (t.data as Float32Array).subarray(0, n * per));
}

/** Rows [rows, K] of a weight whose output axis is 0 (or 1 when transposed). */
function asRows(x: Float64Array, rows: number, K: number, transposed: boolean): Float64Array {
  if (!transposed) return x;
  const r = new Float64Array(rows * K);
  for (let k = 0; k < K; k++) for (let o = 0; o < rows; o++) r[o * K + k] = x[k * rows + o];
  return r;
}

function fromRows(x: Int32Array, rows: number, K: number, transposed: boolean): Int32Array {
  if (!transposed) return x;
  const r = new Int32Array(rows * K);
  for (let k = 0; k < K; k++) for (let o = 0; o < rows; o++) r[k * rows + o] = x[o * K + k];
  return r;
}

function rowGrids(p: AffineParams, rows: number, where: string, axis: number): RowGrid[] {
  if (p.axis !== null && (p.axis !== axis || p.scale.length !== rows)) {
    throw new NibbleError('E_INVALID_GRAPH', `gptq: '${where}' is quantized along axis ${p.axis}, not its output axis ${axis}`, { pass: 'gptq', value: where, hint: 'quantize weights per output channel (quant-policy does) or per tensor' });
  }
  return Array.from({ length: rows }, (_, r) => {
    const c = p.axis === null ? 0 : r;
    const [qmin, qmax] = channelLevelRange(p, c);
    return { scale: p.scale[c], zeroPoint: p.zeroPoint[c], qmin, qmax };
  });
}

/** The values of row-major codes [grids.length, K]. */
function codeValues(codes: ArrayLike<number>, grids: readonly RowGrid[], K: number): Float64Array {
  return Float64Array.from({ length: grids.length * K }, (_, i) => codeValue(codes[i], grids[Math.floor(i / K)]));
}

const db = (signal: number, noise: number) => (noise > 0 ? 10 * Math.log10(signal / noise) : Infinity);

/** GPTQ's codes for one weight, written in place of quantize's; false when they are kept. */
function chooseCodes(graph: Graph, ctx: PassContext, t: Target, moments: InputMoments, opts: { damp: number; order: 'hessian' | 'input' }): boolean {
  const name = t.weight.name;
  const float = t.weight.meta[FLOAT_WEIGHT_KEY] as Tensor;
  const p = paramsOfAnnotation(t.weight.quant!, name);
  const levelsT = constantTensor(t.dq.inputs[0]!);
  if (!levelsT) throw new NibbleError('E_INVALID_GRAPH', `gptq: the codes of '${name}' are not a constant`, { pass: 'gptq', value: name });
  const { K, groups } = moments;
  const rows = t.rows;
  const grids = rowGrids(p, rows, name, t.transposed ? 1 : 0);
  const w = asRows(float.toFloat64(), rows, K, t.transposed);
  const nearest = asRows(levelsT.toFloat64(), rows, K, t.transposed);
  const perGroup = rows / groups;
  const codes = new Int32Array(rows * K);
  let signal = 0;
  let before = 0;
  let after = 0;
  let damp = opts.damp;
  for (let g = 0; g < groups; g++) {
    const h = moments.matrix(g);
    const c = moments.crossMatrix(g)!;
    const f = moments.floatMatrix(g)!;
    const span = [g * perGroup * K, (g + 1) * perGroup * K] as const;
    const wg = w.subarray(...span);
    const gg = grids.slice(g * perGroup, (g + 1) * perGroup);
    const r = gptqCodes(floatTarget(wg, perGroup, K, h, c, opts.damp), perGroup, K, h, gg, opts, name);
    codes.set(r.codes, span[0]);
    damp = Math.max(damp, r.damp);
    signal += errorAgainstFloat(wg, perGroup, K, h, c, f);
    before += errorAgainstFloat(wg, perGroup, K, h, c, f, codeValues(nearest.subarray(...span), gg, K));
    after += errorAgainstFloat(wg, perGroup, K, h, c, f, codeValues(r.codes, gg, K));
  }
  const record: GptqRecord = {
    layer: t.layer.name, rows, columns: K, groups, vectors: moments.vectors, damp, nearestDb: db(signal, before), gptqDb: db(signal, after),
  };
  ctx.report.record('weight', record, name);
  // Keep the nearest codes where GPTQ's would add error on these very inputs (it can, at few samples).
  if (!(after < before)) return false;
  t.weight.meta[WEIGHT_ROUNDING_KEY] = { method: 'gptq', ...opts };
  const laidOut = fromRows(codes, rows, K, t.transposed);
  const old = t.dq.inputs[0]!;
  const base = old.name;
  t.dq.replaceInput(0, null);
  if (old.isInitializer && old.uses.length === 0 && !old.isGraphOutput) graph.removeInitializer(old);
  t.dq.replaceInput(0, graph.addInitializer(graph.uniqueName(base), toIntegerTensor(laidOut, levelsT.shape, p, levelsT.dtype, name)));
  return true;
}
