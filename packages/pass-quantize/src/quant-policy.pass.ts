import { definePass } from '@nibble/core';
import { clearQuantPoint, constantTensor, DTYPES, type Graph, type Node, type QuantPoint, type QuantRole, setQuantPoint, type Value } from '@nibble/ir';
import { firstAndLastLayers, isOnnx, logitValues, weightedLayers } from './layers';
import { type NodePattern, type Override, parseOverrides, parsePatternList } from './patterns';

const bitsOption = (def: number, description: string) => ({ type: 'integer' as const, default: def, min: 1, max: 8, description });

/**
 * quant-policy: chooses the quantization points (docs/quantized-ir.md) with
 * the paper's defaults. Annotation only: it writes `meta.quantPoint` and
 * recomputes every mark, so a second run replaces the first. It drops cached
 * calibration statistics, which observe only what the marks ask for.
 */
export const quantPolicyPass = definePass({
  name: 'quant-policy',
  summary: 'mark the tensors to quantize and their bit-widths (the paper\'s defaults, overridable per node)',
  description: [
    'Weights of Conv/ConvTranspose/Gemm/MatMul per output channel at w-bits; the first layers (no weighted',
    'layer before them) and the last (none after) at first-last-bits. Layer outputs (after the bias) at',
    'a-bits: conv outputs per channel (axis 1), fully connected outputs per tensor; the logits (a layer',
    'output reaching a graph output through softmax/shape ops only) at logits-bits per tensor; MaxPool',
    'outputs at pool-bits per tensor. Graph inputs, residual Adds, ReLU outputs and other ops stay float.',
    'Patterns match node names (or their first output\'s name) as globs: keep-float=[conv1,fc*],',
    'override=[conv1:w8,fc*:a8:w6].',
  ].join('\n'),
  options: {
    wBits: bitsOption(4, 'bit-width of weights'),
    aBits: bitsOption(4, 'bit-width of layer outputs (activations)'),
    firstLastBits: bitsOption(8, 'weight bit-width of the first and last layers'),
    logitsBits: bitsOption(8, 'bit-width of the logits (per tensor)'),
    poolBits: bitsOption(8, 'bit-width of MaxPool outputs (per tensor)'),
    perChannelActivations: { type: 'boolean', default: true, description: 'conv outputs per channel (axis 1) rather than per tensor' },
    perChannelWeights: { type: 'boolean', default: true, description: 'weights per output channel rather than per tensor' },
    fcPerTensor: { type: 'boolean', default: true, description: 'fully connected (Gemm/MatMul) outputs per tensor' },
    weights: { type: 'boolean', default: true, description: 'quantize weights at all (false: float weights)' },
    activations: { type: 'boolean', default: true, description: 'quantize activations at all (false: weights only)' },
    wMaxBits: bitsOption(8, 'cap of every weight width (w-bits, first-last-bits, overrides); 7 keeps int8 products clear of int16 saturation in u8s8 kernels'),
    pools: { type: 'boolean', default: true, description: 'mark MaxPool outputs at pool-bits; false: a MaxPool output keeps its input\'s grid' },
    integerInputs: {
      type: 'boolean', default: false,
      description: 'every float input of a weighted layer or a residual Add comes from a quantized value (integer kernels need it): else the value its grid-preserving chain starts at is marked per tensor at input-bits',
    },
    inputBits: bitsOption(8, 'bit-width of the values integer-inputs and every-activation mark (per tensor)'),
    everyActivation: {
      type: 'boolean', default: false,
      description: 'every float activation an op writes is quantized (per tensor at input-bits unless marked otherwise), as a full-integer runtime holds it: except where the op keeps its input\'s levels (shape ops, MaxPool, Pad, nearest Resize, a Relu/Clip of a one-sided value) and the intermediates computed inside one integer operator (the HardSigmoid of x * HardSigmoid(x), the Mul of a * x + b by constants)',
    },
    keepFloat: { type: 'string[]', default: [], description: 'nodes whose weights and outputs stay float: node-name globs' },
    override: { type: 'string[]', default: [], description: 'per-node widths: pattern:w<bits>:a<bits> items (a later match wins)' },
  },
  // Annotation only, but the marks decide which activations calibration observes
  // (docs/quantized-ir.md): statistics computed before new marks may lack some.
  preserves: [],
  run(graph, ctx, opts) {
    const keep = parsePatternList(opts.keepFloat, 'quant-policy', 'keep-float');
    const overrides = parseOverrides(opts.override, 'quant-policy');
    let changed = 0;
    for (const v of allValues(graph)) if (clearQuantPoint(v)) changed++;

    const layers = weightedLayers(graph);
    const { first, last } = firstAndLastLayers(graph, layers);
    const logits = logitValues(graph, layers);
    const counts = { weights: 0, activations: 0, float: 0 };
    const mark = (v: Value, p: QuantPoint) => {
      setQuantPoint(v, p);
      changed++;
      counts[p.kind === 'weight' ? 'weights' : 'activations']++;
      ctx.report.record('point', { kind: p.kind, bits: p.bits, perChannel: p.perChannel, role: p.role, layer: p.layer }, v.name);
    };
    const marked = new Set<Value>();
    const layerOutput = new Map<Node, Value>();

    for (const layer of layers) {
      const { node } = layer;
      if (matches(keep, node, layer.output)) {
        counts.float++;
        continue;
      }
      const o = overrideFor(overrides, node, layer.output);
      if (opts.weights && !marked.has(layer.weight)) {
        const edge = first.has(node) || last.has(node);
        const role: QuantRole = o?.w !== undefined ? 'override' : first.has(node) ? 'first-layer' : last.has(node) ? 'last-layer' : 'default';
        mark(layer.weight, {
          kind: 'weight', bits: Math.min(opts.wMaxBits, o?.w ?? (edge ? opts.firstLastBits : opts.wBits)), perChannel: opts.perChannelWeights,
          axis: layer.axis, signed: true, role, layer: node.name, op: node.opType,
        });
        marked.add(layer.weight);
      }
      layerOutput.set(node, layer.output);
      if (opts.activations && isFloatActivation(layer.output) && !marked.has(layer.output)) {
        const isLogits = logits.has(layer.output);
        const perTensor = isLogits || (layer.fullyConnected ? opts.fcPerTensor : !opts.perChannelActivations);
        const role: QuantRole = o?.a !== undefined ? 'override' : isLogits ? 'logits' : 'default';
        mark(layer.output, {
          kind: 'activation', bits: o?.a ?? (isLogits ? opts.logitsBits : opts.aBits), perChannel: !perTensor,
          axis: 1, signed: false, role, layer: node.name, op: node.opType,
        });
        marked.add(layer.output);
      }
    }

    if (opts.activations) {
      for (const node of graph.nodes) {
        if (layerOutput.has(node)) continue;
        const out = node.outputs[0];
        if (!out || marked.has(out) || !isFloatActivation(out) || matches(keep, node, out)) continue;
        const o = overrideFor(overrides, node, out);
        const pool = isOnnx(node) && node.opType === 'MaxPool' && opts.pools;
        if (!pool && o?.a === undefined) continue;
        const perChannel = !pool && opts.perChannelActivations && (out.type?.shape?.length ?? 0) >= 3;
        mark(out, {
          kind: 'activation', bits: o?.a ?? opts.poolBits, perChannel, axis: 1, signed: false,
          role: o?.a !== undefined ? 'override' : 'pool', layer: node.name, op: node.opType,
        });
        marked.add(out);
      }
    }

    if (opts.activations && opts.everyActivation) {
      for (const node of graph.nodes) {
        const out = node.outputs[0];
        if (!isOnnx(node) || layerOutput.has(node) || !out || marked.has(out) || !isFloatActivation(out) || matches(keep, node, out)) continue;
        // A Softmax at the network's output stays float: integer runtimes dequantize the logits and run it in float.
        const floatTail = (node.opType === 'Softmax' || node.opType === 'LogSoftmax') && out.isGraphOutput;
        if (node.opType === 'Constant' || floatTail || keepsInputLevels(node) || fusedInside(node)) continue;
        const o = overrideFor(overrides, node, out);
        mark(out, { kind: 'activation', bits: o?.a ?? opts.inputBits, perChannel: false, axis: 1, signed: false, role: o?.a !== undefined ? 'override' : 'default', layer: node.name, op: node.opType });
        marked.add(out);
      }
    }

    if (opts.activations && opts.integerInputs) {
      for (const { value, node } of unquantizedInputs(graph, layerOutput, marked, keep)) {
        mark(value, { kind: 'activation', bits: opts.inputBits, perChannel: false, axis: 1, signed: false, role: 'default', layer: node, op: value.producer?.opType ?? 'input' });
        marked.add(value);
      }
    }

    const hits = (p: NodePattern) => graph.nodes.some((n) => p.test(n.name) || (n.outputs[0] !== undefined && p.test(n.outputs[0].name)));
    for (const p of keep) {
      // A ';' is most likely the former one-string spelling of several items.
      const list = p.text.includes(';') ? ` (several patterns are a list: keep-float=[${p.text.split(';').join(',')}])` : '';
      if (!hits(p)) ctx.logger.warn(`quant-policy: keep-float pattern '${p.text}' matches no node${list}`);
    }
    for (const o of overrides) {
      if (!hits(o.pattern)) ctx.logger.warn(`quant-policy: override pattern '${o.pattern.text}' matches no node`);
    }
    ctx.report.record('points', counts);
    return { graph, modified: changed > 0 };
  },
});

/** Ops whose output holds only values of their input 0, so a per-tensor grid carries through them. */
const GRID_PRESERVING = new Set(['MaxPool', 'Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Identity', 'Transpose']);

/**
 * Where the value `v` a kernel reads gets its grid: walking back through
 * grid-preserving ops, and through a Relu/Clip(min >= 0) whose input is
 * one-sided (its annotation moves past the Relu when lowered), to the first
 * marked value; or, when none, the value the walk stopped at.
 */
function gridSource(v: Value, marked: ReadonlySet<Value>): { source: Value; covered: boolean } {
  let x = v;
  for (;;) {
    if (marked.has(x)) return { source: x, covered: true };
    const p = x.producer;
    const input = p?.inputs[0];
    if (!p || !input || !isOnnx(p) || !isFloatActivation(input) && !input.isGraphInput) return { source: x, covered: false };
    const relu = (p.opType === 'Relu' || p.opType === 'Clip') && input.meta.oneSided === true;
    if (!relu && !GRID_PRESERVING.has(p.opType)) return { source: x, covered: false };
    x = input;
  }
}

/** Ops whose output holds only levels of their input (every-activation leaves them on the input's grid). */
function keepsInputLevels(node: Node): boolean {
  if (GRID_PRESERVING.has(node.opType) || node.opType === 'Dropout') return true;
  if (node.opType === 'Pad') return node.getString('mode', 'constant') === 'constant' && (!node.inputs[2] || constantTensor(node.inputs[2])?.toFloat64()[0] === 0);
  if (node.opType === 'Resize' || node.opType === 'Upsample') return node.getString('mode', 'nearest') === 'nearest';
  return (node.opType === 'Relu' || node.opType === 'Clip') && node.inputs[0]?.meta.oneSided === true;
}

/**
 * Intermediates an integer runtime computes inside one operator (the
 * tflite writer's HARD_SWISH and affine DEPTHWISE_CONV_2D, recognised there
 * by the same rules): the HardSigmoid(x; 1/6, 1/2) read only by Mul(x, .),
 * and a Mul by a constant read only by an Add of a constant.
 */
function fusedInside(node: Node): boolean {
  const y = node.outputs[0];
  if (y.uses.length !== 1 || y.isGraphOutput) return false;
  const next = y.uses[0].node;
  if (node.opType === 'HardSigmoid') {
    return Math.abs(node.getFloat('alpha', 0.2) - 1 / 6) <= 1e-6 && node.getFloat('beta', 0.5) === 0.5 && next.opType === 'Mul' && next.inputs[1 - y.uses[0].index] === node.inputs[0];
  }
  const oneConstant = (n: Node) => n.inputs.length === 2 && n.inputs.filter((v) => v !== null && constantTensor(v) !== undefined).length === 1;
  return node.opType === 'Mul' && oneConstant(node) && next.opType === 'Add' && oneConstant(next);
}

/** Pools with integer kernels that average (onnxruntime's QLinearGlobalAveragePool, QLinearAveragePool). */
const AVERAGING = new Set(['GlobalAveragePool', 'AveragePool']);

/**
 * The float values that integer kernels would read unquantized: data inputs
 * of weighted layers and averaging pools, and both inputs of Adds between activations, each
 * traced to where its grid would start (integer-inputs).
 */
function unquantizedInputs(graph: Graph, layerOutput: ReadonlyMap<Node, Value>, marked: ReadonlySet<Value>, keep: readonly NodePattern[]): { value: Value; node: string }[] {
  const out: { value: Value; node: string }[] = [];
  const seen = new Set<Value>();
  const biasAdds = new Set([...layerOutput.values()].map((v) => v.producer).filter((n): n is Node => n !== null && n !== undefined && n.opType === 'Add'));
  for (const node of graph.nodes) {
    if (!isOnnx(node) || matches(keep, node, node.outputs[0])) continue;
    let reads: readonly (Value | null)[] = [];
    if (layerOutput.has(node) || AVERAGING.has(node.opType)) reads = [node.inputs[0]];
    else if (node.opType === 'Add' && !biasAdds.has(node) && node.inputs.every((x) => x && !x.isInitializer && !x.const && x.producer?.opType !== 'Constant')) reads = node.inputs;
    for (const x of reads) {
      if (!x || (!isFloatActivation(x) && !x.isGraphInput)) continue;
      const { source, covered } = gridSource(x, marked);
      if (covered || seen.has(source)) continue;
      seen.add(source);
      out.push({ value: source, node: node.name });
    }
  }
  return out;
}

function allValues(graph: Graph): Value[] {
  return [...graph.initializers, ...graph.inputs, ...graph.nodes.flatMap((n) => n.outputs)];
}

function isFloatActivation(v: Value): boolean {
  if (v.isGraphInput || v.isInitializer) return false;
  return v.type === undefined || DTYPES[v.type.dtype].isFloat;
}

function matches(patterns: readonly NodePattern[], node: Node, output: Value): boolean {
  return patterns.some((p) => p.test(node.name) || p.test(output.name) || (node.outputs[0] !== undefined && p.test(node.outputs[0].name)));
}

/** The overrides matching the layer merged in order: a later item wins for the setting it gives. */
function overrideFor(overrides: readonly Override[], node: Node, output: Value): { w?: number; a?: number } | undefined {
  let out: { w?: number; a?: number } | undefined;
  for (const o of overrides) {
    if (!matches([o.pattern], node, output)) continue;
    out = { ...out, ...(o.w !== undefined ? { w: o.w } : {}), ...(o.a !== undefined ? { a: o.a } : {}) };
  }
  return out;
}
