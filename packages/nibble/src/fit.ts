import { type AnyPassInvocation, createPassContext, printInvocations, runPipeline } from '@nibble/core';
import { cloneModel, DTYPES, type Graph, type Model, NibbleError, type Node, quantPointOf, type Value } from '@nibble/ir';
import { type DeviceProfile, getDevice } from './devices';
import { planQuantization } from './plan';
import { ensurePassesRegistered, recipesInOrder } from './recipes';

/**
 * "Does it fit?": a model's weight bytes per layer and its activation
 * arena's peak against a device profile (devices.ts).
 *
 * Weights are every constant at its stored width (int4 packed two per
 * byte; a per-channel allocation is stored at its tensor's container,
 * int4 or int8), each counted at the first layer that reads it.
 *
 * The arena is computed here from the IR's value lifetimes, not taken from
 * a backend's memory plan: one buffer per value, alive from the node that
 * writes it to the last node that reads it, both a node's inputs and its
 * outputs alive while it runs, no in-place reuse; the peak is the largest
 * sum over the nodes. An integer kernel reads codes, so a DequantizeLinear
 * of an activation is a view of its codes, and a value only requantized
 * is written as codes by its producer. Batch 1.
 */

export interface LayerWeights {
  node: string;
  op: string;
  /** Bytes of the constants this layer reads first (weight, bias, scales, zero points). */
  bytes: number;
  /** Storage bits of its largest constant (the weight): 32 float, 8 or 4 quantized. */
  bits: number;
}

export interface Footprint {
  quantized: boolean;
  layers: LayerWeights[];
  weightBytes: number;
  arenaPeakBytes: number;
  /** The node running at the peak (null: before the first node, graph inputs only). */
  arenaPeakAt: string | null;
  /** Operators that run on activations (not folded constants). */
  ops: string[];
}

export interface RecipeFit {
  recipe: string;
  weightBytes: number;
  arenaPeakBytes: number;
  /** Operators of the quantized model without a kernel on the device. */
  missingKernels: string[];
  fits: boolean;
}

export interface FitReport {
  device: DeviceProfile;
  footprint: Footprint;
  weights: { bytes: number; budget: number; fits: boolean };
  arena: { peakBytes: number; at: string | null; budget: number; fits: boolean; method: 'value-lifetimes' };
  /** Operators of the model without a kernel on the device. */
  missingKernels: string[];
  /** A float model on a device without float kernels. */
  needsQuantization: boolean;
  fits: boolean;
  /** Float models: each recipe's estimate (its quantization policy's widths, before calibration). */
  recipes?: RecipeFit[];
  /** The fitting recipe that compresses least (most weight bytes), or null when none fits. */
  recommended?: string | null;
}

/** Elementwise clamps a QDQ file may put before a QuantizeLinear (the clip range); requantization does them. */
const CLAMPS = new Set(['Max', 'Min', 'Clip', 'Relu']);

const isQdq = (n: Node): boolean => (n.opType === 'DequantizeLinear' || n.opType === 'QuantizeLinear') && (n.domain === '' || n.domain === 'ai.onnx');

function elementsOf(v: Value): number {
  const shape = v.const?.shape ?? v.type?.shape;
  if (!shape) {
    throw new NibbleError('E_SHAPE', `value '${v.name}' has no known shape, so its bytes cannot be counted`, {
      value: v.name, hint: 'fix the input shape first (nibble inspect --shape, nibble convert --shape)',
    });
  }
  return shape.reduce<number>((n, d, i) => {
    if (typeof d === 'number') return n * d;
    if (i === 0) return n; // a symbolic batch: one sample
    throw new NibbleError('E_SHAPE', `value '${v.name}' has a symbolic dimension '${String(d)}' at axis ${i}`, {
      value: v.name, hint: 'fix the input shape first (nibble convert --shape input=1,3,224,224)',
    });
  }, 1);
}

/** Bytes of `v` stored at `bits` per element. */
function bytesAt(v: Value, bits: number): number {
  return Math.ceil((elementsOf(v) * bits) / 8);
}

function storedBits(v: Value): number {
  const dtype = v.const?.dtype ?? v.type?.dtype ?? 'float32';
  return DTYPES[dtype].bits;
}

/** Values computed from constants only (a weight's DequantizeLinear, a folded reshape). */
function constantValues(g: Graph): Set<Value> {
  const c = new Set<Value>(g.initializers);
  for (const n of g.nodes) if (n.inputs.every((v) => !v || c.has(v))) n.outputs.forEach((v) => c.add(v));
  return c;
}

/** Weight bytes per layer; `bitsOf` gives a constant's storage bits (its policy width when estimating a recipe). */
function layerWeights(g: Graph, bitsOf: (v: Value) => number, extraBytes: (v: Value) => number): LayerWeights[] {
  const constant = constantValues(g);
  const counted = new Set<Value>();
  const sources = (v: Value, out: Value[]): void => {
    if (v.isInitializer) out.push(v);
    else if (constant.has(v)) v.producer!.inputs.forEach((u) => u && sources(u, out));
  };
  const layers: LayerWeights[] = [];
  for (const n of g.nodes) {
    if (n.outputs.every((v) => constant.has(v))) continue;
    const mine: Value[] = [];
    n.inputs.forEach((v) => v && sources(v, mine));
    const fresh = mine.filter((v) => !counted.has(v) && v.const?.dtype !== 'string');
    if (!fresh.length) continue;
    fresh.forEach((v) => counted.add(v));
    const main = fresh.reduce((a, b) => (elementsOf(b) > elementsOf(a) ? b : a));
    layers.push({ node: n.name, op: n.opType, bytes: fresh.reduce((s, v) => s + bytesAt(v, bitsOf(v)) + extraBytes(v), 0), bits: bitsOf(main) });
  }
  return layers;
}

/**
 * The bits an activation is stored at when it holds integer codes, else
 * undefined (float): a QuantizeLinear's output at its dtype, a dequantized
 * view at its codes' width, and the output of an operator that keeps the
 * grid (ReLU, ReLU6, padding, max pooling, reshapes: an integer kernel
 * fuses or copies them) at its input's. `marked` adds the widths a
 * quantization policy gives (estimates before quantize runs).
 */
function codeBits(constant: Set<Value>, marked: (v: Value) => number | undefined): (v: Value) => number | undefined {
  const memo = new Map<Value, number | undefined>();
  const codes = (v: Value): number | undefined => {
    if (memo.has(v)) return memo.get(v);
    const p = v.producer;
    const x = p?.inputs[0];
    let c = marked(v);
    if (c === undefined && p && isQdq(p)) c = p.opType === 'QuantizeLinear' ? storedBits(v) : x && !constant.has(x) ? codes(x) : undefined;
    if (c === undefined && p && GRID_OPS.has(p.opType) && x && !constant.has(x)) c = codes(x);
    memo.set(v, c);
    return c;
  };
  return codes;
}

/** Operators whose output lies on their input's grid. */
const GRID_OPS = new Set(['Relu', 'Clip', 'Pad', 'MaxPool', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Identity']);

/** The arena's peak over the nodes, from value lifetimes; `marked` gives a policy's activation widths (estimates). */
function arenaPeak(g: Graph, marked: (v: Value) => number | undefined = () => undefined): { peak: number; at: string | null } {
  const constant = constantValues(g);
  const codes = codeBits(constant, marked);
  const bitsOf = (v: Value): number => codes(v) ?? storedBits(v);
  const index = new Map<Node, number>(g.nodes.map((n, i) => [n, i]));
  const def = (v: Value): number => (v.producer ? index.get(v.producer)! : -1);
  const lastUse = (v: Value): number => (v.isGraphOutput ? g.nodes.length - 1 : Math.max(def(v), ...v.uses.map((u) => index.get(u.node)!)));
  const isCodeView = (v: Value): boolean => v.producer?.opType === 'DequantizeLinear' && isQdq(v.producer) && !constant.has(v.producer.inputs[0]!);
  // A value an integer kernel never writes in float: only requantized, possibly through clamps to the grid's range.
  const onlyRequantized = (v: Value): boolean => !v.isGraphOutput && v.uses.length > 0 && v.uses.every((u) => (u.node.opType === 'QuantizeLinear' && isQdq(u.node))
    || (CLAMPS.has(u.node.opType) && u.node.inputs.every((x) => !x || x === v || constant.has(x)) && u.node.outputs.every(onlyRequantized)));
  const chainStart = (v: Value): Value => {
    const p = v.producer;
    return p && CLAMPS.has(p.opType) && p.inputs[0] && onlyRequantized(p.inputs[0]) ? chainStart(p.inputs[0]) : v;
  };
  const buffer = (v: Value): Value => (isCodeView(v) ? buffer(v.producer!.inputs[0]!) : v);
  const span = new Map<Value, [number, number]>();
  const widen = (b: Value, from: number, to: number) => {
    const s = span.get(b);
    span.set(b, s ? [Math.min(s[0], from), Math.max(s[1], to)] : [from, to]);
  };
  const values = [...g.inputs, ...g.nodes.flatMap((n) => n.outputs)].filter((v) => !constant.has(v) && !v.isInitializer);
  for (const v of values) {
    if (onlyRequantized(v)) continue;
    const b = buffer(v);
    const q = b.producer?.opType === 'QuantizeLinear' && isQdq(b.producer) ? b.producer.inputs[0]! : undefined;
    const from = q && onlyRequantized(q) ? def(chainStart(q)) : def(v);
    widen(b, Math.min(from, def(b)), lastUse(v));
  }
  let peak = 0;
  let at: string | null = null;
  for (let i = -1; i < g.nodes.length; i++) {
    let live = 0;
    for (const [b, [from, to]] of span) if (from <= i && i <= to) live += bytesAt(b, bitsOf(b));
    if (live > peak) {
      peak = live;
      at = i < 0 ? null : g.nodes[i].name;
    }
  }
  return { peak, at };
}

/** Operators that run on activations (not on constants only), sorted. */
function activationOps(g: Graph): string[] {
  const constant = constantValues(g);
  return [...new Set(g.nodes.filter((n) => !n.outputs.every((v) => constant.has(v))).map((n) => n.opType))].sort();
}

const markedAny = (g: Graph): boolean => [...g.initializers, ...g.nodes.flatMap((n) => n.outputs)].some((v) => quantPointOf(v) !== undefined);

function isQuantizedGraph(g: Graph): boolean {
  return g.nodes.some((n) => isQdq(n)) || g.initializers.some((v) => quantPointOf(v) !== undefined);
}

/** Weight bytes per layer and the arena's peak of a model as it is (float, or quantized QDQ). */
export function modelFootprint(model: Model): Footprint {
  const g = model.graph;
  const layers = layerWeights(g, storedBits, () => 0);
  const { peak, at } = arenaPeak(g);
  const ops = activationOps(g);
  return { quantized: isQuantizedGraph(g), layers, weightBytes: layers.reduce((s, l) => s + l.bytes, 0), arenaPeakBytes: peak, arenaPeakAt: at, ops };
}

/** Container bits of a policy width: int4/uint4 up to 4 bits, int8/uint8 above. */
const container = (bits: number): number => (bits <= 4 ? 4 : 8);

/**
 * A recipe's footprint before calibration: its pipeline up to quant-policy
 * (graph passes and the policy, which need no data) on a copy, then every
 * marked value at its policy width's container, a weight with a float32
 * scale and a zero point per channel. alloc-bits may later widen a tensor's
 * container, which this does not foresee.
 */
type RecipeEstimate = { weightBytes: number; arenaPeakBytes: number; ops: string[] };

/** Recipes sharing the pipeline up to quant-policy share the estimate (`memo`: prefix text -> estimate). */
async function estimateRecipe(model: Model, recipe: string, memo: Map<string, Promise<RecipeEstimate>>): Promise<RecipeEstimate | undefined> {
  const plan = planQuantization({ recipe });
  const policyAt = plan.invocations.findIndex((inv) => inv.pass.name === 'quant-policy');
  if (policyAt < 0) return undefined;
  const prefix = plan.invocations.slice(0, policyAt + 1);
  const key = printInvocations(prefix, 'all');
  if (!memo.has(key)) memo.set(key, estimatePolicy(model, prefix));
  return memo.get(key)!;
}

async function estimatePolicy(model: Model, prefix: readonly AnyPassInvocation[]): Promise<RecipeEstimate> {
  const copy = cloneModel(model);
  const { graph } = await runPipeline(copy.graph, prefix, createPassContext());
  const policyBits = (v: Value): number | undefined => {
    const p = quantPointOf(v);
    return p ? container(p.bits) : undefined;
  };
  const bitsOf = (v: Value): number => policyBits(v) ?? storedBits(v);
  const extra = (v: Value): number => {
    const p = quantPointOf(v);
    if (!p || p.kind !== 'weight') return 0;
    const channels = p.perChannel ? Number(v.const!.shape[p.axis]) : 1;
    return channels * (4 + container(p.bits) / 8);
  };
  const layers = layerWeights(graph, bitsOf, extra);
  // Quantize then adds QuantizeLinear/DequantizeLinear around the marked values.
  const ops = [...activationOps(graph), ...(markedAny(graph) ? ['DequantizeLinear', 'QuantizeLinear'] : [])];
  return { weightBytes: layers.reduce((s, l) => s + l.bytes, 0), arenaPeakBytes: arenaPeak(graph, policyBits).peak, ops };
}

/** Whether `model` fits `device` (a profile or its name); for a float model, which recipe would make it fit. */
export async function fitModel(model: Model, device: string | DeviceProfile): Promise<FitReport> {
  ensurePassesRegistered();
  const profile = typeof device === 'string' ? getDevice(device) : device;
  const footprint = modelFootprint(model);
  const kernels = new Set(profile.ops);
  const missingKernels = footprint.ops.filter((op) => !kernels.has(op));
  const needsQuantization = !footprint.quantized && !profile.float;
  const weights = { bytes: footprint.weightBytes, budget: profile.weightBudgetBytes, fits: footprint.weightBytes <= profile.weightBudgetBytes };
  const arena = { peakBytes: footprint.arenaPeakBytes, at: footprint.arenaPeakAt, budget: profile.arenaBudgetBytes, fits: footprint.arenaPeakBytes <= profile.arenaBudgetBytes, method: 'value-lifetimes' as const };
  const report: FitReport = { device: profile, footprint, weights, arena, missingKernels, needsQuantization, fits: weights.fits && arena.fits && !missingKernels.length && !needsQuantization };
  if (footprint.quantized) return report;
  const recipes: RecipeFit[] = [];
  const memo = new Map<string, Promise<RecipeEstimate>>();
  for (const r of recipesInOrder()) {
    const est = await estimateRecipe(model, r.name, memo);
    if (!est) continue;
    const missing = est.ops.filter((op) => !kernels.has(op));
    recipes.push({
      recipe: r.name, weightBytes: est.weightBytes, arenaPeakBytes: est.arenaPeakBytes, missingKernels: missing,
      fits: !missing.length && est.weightBytes <= profile.weightBudgetBytes && est.arenaPeakBytes <= profile.arenaBudgetBytes,
    });
  }
  const fitting = recipes.filter((r) => r.fits).sort((a, b) => b.weightBytes - a.weightBytes);
  return { ...report, recipes, recommended: fitting[0]?.recipe ?? null };
}
