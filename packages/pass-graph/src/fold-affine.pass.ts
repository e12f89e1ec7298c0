import { attr, type Graph, type Node, type Tensor, type Value } from '@nibble/ir';
import { definePass } from '@nibble/core';
import { scaleWeight, storeFloat, type WeightLayout } from './bn-fold-math';
import { constantThrough, removeUnusedConstantChain } from './constant-through';
import { defaultOpset, type GraphScope, graphScope, isOnnxDomain, isOverridable } from './graph-util';

/*
 * fold-affine: rewrites that leave the float function unchanged (up to
 * float rounding) and give an integer runtime fewer, simpler operators:
 *
 *   1. a Mul or Add of a per-channel constant right after a Conv or
 *      ConvTranspose (the scale and shift exporters write for a
 *      normalisation, PaddlePaddle's "learnable affine" blocks) folds into
 *      the layer's weights and bias;
 *   2. a HardSigmoid right after such a layer folds its alpha and beta into
 *      the layer and becomes Clip(0, 1) (which mark-fused-relu then reads
 *      as a one-sided grid bounded by 1);
 *   3. x * Clip(x + 3, 0, 6) / 6 (hard-swish spelled out) becomes
 *      x * HardSigmoid(x) with alpha 1/6, beta 1/2 — ONNX's definition of
 *      HardSwish, in ops every opset has;
 *   4. a * x + b per channel (Mul and/or Add of constants) read only by a
 *      1x1 Conv without padding folds into that Conv (W a, b' = b + W b):
 *      exact because no zero padding meets the shifted values.
 *
 * Each rewrite needs every intermediate value read once and not a graph
 * output; the value a rewrite ends at may be one (the replacement takes
 * its name). The tflite targets run it before quant-policy: every remaining
 * operator is one int8 TFLite operator and one grid in the simulation.
 */

const FLOATS = new Set(['float32', 'float64', 'float16']);

const readOnce = (v: Value, scope: GraphScope): boolean => v.uses.length === 1 && !v.isGraphOutput && !scope.outer.has(v.name);

/** A broadcast constant of a rank-`rank` NCHW value as one value per channel, when it varies along axis 1 only. */
function perChannel(t: Tensor | undefined, rank: number, channels: number): Float64Array | undefined {
  if (!t || !FLOATS.has(t.dtype) || t.rank > rank) return undefined;
  const dims = [...Array(rank - t.rank).fill(1), ...t.shape];
  if (dims.some((d, a) => d !== 1 && !(a === 1 && d === channels))) return undefined;
  const v = t.toFloat64();
  return v.length === channels ? v : new Float64Array(channels).fill(v[0]);
}

/** The constant operand of a binary node (one of its two inputs), with the other input. */
function constantSide(n: Node, scope: GraphScope): { constant: Value; tensor: Tensor; data: Value } | undefined {
  for (const k of [1, 0]) {
    const c = n.inputs[k];
    const data = n.inputs[1 - k];
    if (!c || !data || isOverridable(c, scope)) continue;
    const tensor = constantThrough(c, scope);
    if (tensor && constantThrough(data, scope) === undefined) return { constant: c, tensor, data };
  }
  return undefined;
}

interface Layer {
  node: Node;
  layout: WeightLayout;
  group: number;
  weight: Tensor;
  bias: Float64Array;
  channels: number;
}

/** The Conv / ConvTranspose writing `v` with constant float weights and bias, when v is read once. */
function layerOf(v: Value | null, scope: GraphScope): Layer | undefined {
  const p = v?.producer;
  if (!v || !p || !isOnnxDomain(p) || (p.opType !== 'Conv' && p.opType !== 'ConvTranspose') || !readOnce(v, scope)) return undefined;
  if ([p.inputs[1], p.inputs[2]].some((x) => x && isOverridable(x, scope))) return undefined;
  const weight = constantThrough(p.inputs[1], scope);
  if (!weight || !FLOATS.has(weight.dtype) || weight.rank < 3) return undefined;
  const group = p.getInt('group', 1);
  const layout: WeightLayout = p.opType === 'Conv' ? 'conv' : 'conv-transpose';
  const channels = layout === 'conv' ? weight.shape[0] : weight.shape[1] * group;
  const b = p.inputs[2] ? constantThrough(p.inputs[2], scope) : undefined;
  if (p.inputs[2] && (!b || b.size !== channels)) return undefined;
  return { node: p, layout, group, weight, bias: b ? b.toFloat64() : new Float64Array(channels), channels };
}

/** Point the layer at new weights and bias (fresh initializers: the old ones may be shared). */
function setLayer(graph: Graph, l: Layer, weight: Tensor, bias: Float64Array, scope: GraphScope): void {
  const old = [l.node.inputs[1], l.node.inputs[2] ?? null];
  l.node.replaceInput(1, graph.addInitializer(graph.uniqueName(`${l.node.name}.weight_affine`), weight));
  const b = graph.addInitializer(graph.uniqueName(`${l.node.name}.bias_affine`), storeFloat(l.weight.dtype, [bias.length], bias));
  if (l.node.inputs.length > 2) l.node.replaceInput(2, b);
  else l.node.appendInput(b);
  for (const v of old) removeUnusedConstantChain(graph, v, scope);
}

/** Replace `from` (a node's output) by `to` everywhere and drop the nodes that computed it. */
function bypass(graph: Graph, from: Value, to: Value, nodes: Node[], scope: GraphScope): void {
  for (const [k, v] of Object.entries(from.meta)) if (!(k in to.meta)) to.meta[k] = v;
  from.replaceAllUsesWith(to);
  const inputs = nodes.flatMap((n) => n.inputs);
  for (const n of nodes) graph.removeNode(n);
  for (const v of inputs) removeUnusedConstantChain(graph, v, scope);
}

/** Rule 1: Mul / Add of a per-channel constant after a layer. */
function foldIntoLayer(graph: Graph, n: Node, scope: GraphScope): boolean {
  if (n.opType !== 'Mul' && n.opType !== 'Add') return false;
  const side = constantSide(n, scope);
  const l = side && layerOf(side.data, scope);
  if (!side || !l) return false;
  const c = perChannel(side.tensor, l.weight.rank, l.channels);
  if (!c) return false;
  if (n.opType === 'Mul') setLayer(graph, l, scaleWeight(l.weight, l.layout, l.group, c), l.bias.map((b, k) => b * c[k]), scope);
  else setLayer(graph, l, l.weight, l.bias.map((b, k) => b + c[k]), scope);
  bypass(graph, n.outputs[0], side.data, [n], scope);
  return true;
}

/** Rule 2: HardSigmoid(alpha z + beta) after a layer: the layer computes alpha z + beta, a Clip(0, 1) the rest. */
function foldHardSigmoid(graph: Graph, n: Node, scope: GraphScope, opset: number): boolean {
  if (n.opType !== 'HardSigmoid') return false;
  const l = layerOf(n.inputs[0], scope);
  if (!l) return false;
  const alpha = n.getFloat('alpha', 0.2);
  const beta = n.getFloat('beta', 0.5);
  setLayer(graph, l, scaleWeight(l.weight, l.layout, l.group, new Float64Array(l.channels).fill(alpha)), l.bias.map((b) => b * alpha + beta), scope);
  const z = n.inputs[0]!;
  const bounds = opset >= 11
    ? { inputs: [z, graph.addInitializer(graph.uniqueName(`${n.name}.min`), storeFloat('float32', [], Float64Array.of(0))), graph.addInitializer(graph.uniqueName(`${n.name}.max`), storeFloat('float32', [], Float64Array.of(1)))] }
    : { inputs: [z], attributes: { min: attr.float(0), max: attr.float(1) } };
  const clip = graph.insertNodeAfter(n, { opType: 'Clip', name: `${n.name}.clip`, outputs: 1, ...bounds });
  clip.outputs[0].type = n.outputs[0].type;
  bypass(graph, n.outputs[0], clip.outputs[0], [n], scope);
  return true;
}

function scalar(v: Value | null | undefined, scope: GraphScope): number | undefined {
  const t = v ? constantThrough(v, scope) : undefined;
  return t && t.size === 1 && FLOATS.has(t.dtype) ? t.toFloat64()[0] : undefined;
}

function clipBounds(n: Node, scope: GraphScope): [number | undefined, number | undefined] {
  const a = (k: string) => { const x = n.attributes.get(k); return x?.type === 'float' ? x.value : undefined; };
  return [a('min') ?? scalar(n.inputs[1], scope), a('max') ?? scalar(n.inputs[2], scope)];
}

/** Rule 3: Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6) (or Mul by 1/6) -> Mul(x, HardSigmoid(x; 1/6, 1/2)). */
function hardSwish(graph: Graph, n: Node, scope: GraphScope): boolean {
  const s = n.opType === 'Div' ? scalar(n.inputs[1], scope) : n.opType === 'Mul' ? constantSide(n, scope) && scalar(constantSide(n, scope)!.constant, scope) : undefined;
  if (s === undefined || !(n.opType === 'Div' ? s === 6 : Math.abs(s - 1 / 6) < 1e-7)) return false;
  const m = (n.opType === 'Div' ? n.inputs[0] : constantSide(n, scope)!.data)?.producer;
  if (!m || m.opType !== 'Mul' || !readOnce(m.outputs[0], scope)) return false;
  for (const k of [0, 1]) {
    const x = m.inputs[k];
    const c = m.inputs[1 - k]?.producer;
    if (!x || !c || c.opType !== 'Clip' || !readOnce(c.outputs[0], scope)) continue;
    const [lo, hi] = clipBounds(c, scope);
    const a = c.inputs[0]?.producer;
    if (lo !== 0 || hi !== 6 || !a || a.opType !== 'Add' || !readOnce(a.outputs[0], scope)) continue;
    const side = constantSide(a, scope);
    if (!side || side.data !== x || scalar(side.constant, scope) !== 3) continue;
    const gate = graph.insertNodeAfter(n, { opType: 'HardSigmoid', name: `${n.name}.hard_sigmoid`, inputs: [x], outputs: 1, attributes: { alpha: attr.float(1 / 6), beta: attr.float(0.5) } });
    gate.outputs[0].type = x.type;
    const y = graph.insertNodeAfter(gate, { opType: 'Mul', name: `${n.name}.hard_swish`, inputs: [x, gate.outputs[0]], outputs: 1 });
    y.outputs[0].type = n.outputs[0].type;
    bypass(graph, n.outputs[0], y.outputs[0], [n, m, c, a], scope);
    return true;
  }
  return false;
}

/** Rule 4: a * h + b per channel (either part may be absent) read only by a 1x1, unpadded, ungrouped Conv. */
function foldIntoNextConv(graph: Graph, n: Node, scope: GraphScope): boolean {
  if ((n.opType !== 'Add' && n.opType !== 'Mul') || !readOnce(n.outputs[0], scope)) return false;
  const conv = n.outputs[0].uses[0].node;
  if (conv.opType !== 'Conv' || !isOnnxDomain(conv) || n.outputs[0].uses[0].index !== 0 || conv.getInt('group', 1) !== 1) return false;
  if (conv.getInts('pads', [0, 0, 0, 0]).some((p) => p !== 0) || !['NOTSET', 'VALID'].includes(conv.getString('auto_pad', 'NOTSET'))) return false;
  const weight = constantThrough(conv.inputs[1], scope);
  if (!weight || !FLOATS.has(weight.dtype) || weight.rank !== 4 || weight.shape[2] !== 1 || weight.shape[3] !== 1) return false;
  if ([conv.inputs[1], conv.inputs[2]].some((x) => x && isOverridable(x, scope))) return false;
  const [out, inC] = weight.shape;
  const side = constantSide(n, scope);
  const values = side && perChannel(side.tensor, 4, inC);
  if (!side || !values) return false;
  let scale: Float64Array = new Float64Array(inC).fill(1);
  let shift: Float64Array = n.opType === 'Add' ? values : new Float64Array(inC);
  let h = side.data;
  const nodes = [n];
  if (n.opType === 'Mul') scale = values;
  else {
    // The Mul of a * h + b, when it is read only by this Add.
    const p = h.producer;
    const inner = p && p.opType === 'Mul' && readOnce(h, scope) ? constantSide(p, scope) : undefined;
    const a = inner && perChannel(inner.tensor, 4, inC);
    if (inner && a) {
      scale = a;
      h = inner.data;
      nodes.unshift(p!);
    }
  }
  const b = conv.inputs[2] ? constantThrough(conv.inputs[2], scope)?.toFloat64() : new Float64Array(out);
  if (!b || b.length !== out) return false;
  const w = weight.toFloat64();
  const bias = Float64Array.from(b);
  for (let o = 0; o < out; o++) for (let i = 0; i < inC; i++) {
    bias[o] += w[o * inC + i] * shift[i];
    w[o * inC + i] *= scale[i];
  }
  setLayer(graph, { node: conv, layout: 'conv', group: 1, weight, bias: b, channels: out }, storeFloat(weight.dtype, weight.shape, w), bias, scope);
  const inputs = nodes.flatMap((x) => x.inputs);
  conv.replaceInput(0, h);
  for (const x of [...nodes].reverse()) graph.removeNode(x);
  for (const v of inputs) removeUnusedConstantChain(graph, v, scope);
  return true;
}

export const foldAffinePass = definePass({
  name: 'fold-affine',
  summary: 'fold per-channel scales and shifts into neighbouring Conv/ConvTranspose layers, HardSigmoid after a layer into it (Clip(0, 1)), and spell hard-swish x * HardSigmoid(x)',
  description: [
    'Float-exact rewrites for integer runtimes (the tflite targets run it before quant-policy):',
    'Mul/Add of a per-channel constant after a Conv/ConvTranspose folds into its weights and bias;',
    'HardSigmoid after one becomes part of it plus Clip(0, 1); x * Clip(x + 3, 0, 6) / 6 becomes',
    'x * HardSigmoid(x) (alpha 1/6, beta 1/2); a per-channel a * x + b read only by an unpadded 1x1',
    'Conv folds into that Conv. Only where every intermediate is read once and is no graph output.',
    'Report keys: into-layer, hard-sigmoid, hard-swish, into-next-conv.',
  ].join('\n'),
  preserves: [],
  run(graph, ctx) {
    const scope = graphScope(graph, ctx);
    const opset = defaultOpset(ctx);
    const counts = { 'into-layer': 0, 'hard-sigmoid': 0, 'hard-swish': 0, 'into-next-conv': 0 };
    const sweep = (rule: (n: Node) => boolean, key: keyof typeof counts) => {
      for (let again = true; again;) {
        again = false;
        for (const n of [...graph.nodes]) {
          if (!isOnnxDomain(n) || !graph.nodes.includes(n)) continue;
          if (rule(n)) {
            counts[key]++;
            again = true;
          }
        }
      }
    };
    sweep((n) => foldIntoLayer(graph, n, scope), 'into-layer');
    sweep((n) => foldHardSigmoid(graph, n, scope, opset), 'hard-sigmoid');
    sweep((n) => hardSwish(graph, n, scope), 'hard-swish');
    sweep((n) => foldIntoNextConv(graph, n, scope), 'into-next-conv');
    ctx.report.record('folded', counts);
    return { graph, modified: Object.values(counts).some((c) => c > 0) };
  },
});
