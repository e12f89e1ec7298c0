import { constantTensor, DTYPES, type Graph, type Node, type Value } from '@nibble/ir';

/**
 * A layer with a weight: Conv, ConvTranspose, Gemm or MatMul whose weight
 * operand is a float constant (an initializer or a Constant node's output,
 * not a graph input that a caller could override).
 */
export interface WeightedLayer {
  node: Node;
  weight: Value;
  weightIndex: number;
  /** The weight's output-channel axis. */
  axis: number;
  /**
   * What the layer computes: the node's output, or the output of the Add that
   * carries its bias (MatMul + Add as exporters write a fully connected layer,
   * or a bias-less Conv + Add). Quantizing there matches the paper, which
   * quantizes a layer's output after its bias.
   */
  output: Value;
  fullyConnected: boolean;
}

export function isOnnx(node: Node): boolean {
  return node.domain === '' || node.domain === 'ai.onnx';
}

function floatConstant(v: Value | null): boolean {
  if (!v || v.isGraphInput) return false;
  const t = constantTensor(v);
  return t !== undefined && DTYPES[t.dtype].isFloat && t.size > 0;
}

/** The weight's output-channel axis, or undefined when `node` is not a weighted layer. */
function weightAxis(node: Node): { index: number; axis: number } | undefined {
  if (!isOnnx(node) || !floatConstant(node.inputs[1] ?? null) || floatConstant(node.inputs[0] ?? null)) return undefined;
  const rank = constantTensor(node.inputs[1])!.rank;
  switch (node.opType) {
    case 'Conv': return rank >= 3 ? { index: 1, axis: 0 } : undefined;
    case 'ConvTranspose': return rank >= 3 ? { index: 1, axis: 1 } : undefined;
    case 'Gemm': return rank === 2 ? { index: 1, axis: node.getInt('transB', 0) ? 0 : 1 } : undefined;
    case 'MatMul': return rank >= 2 ? { index: 1, axis: rank - 1 } : undefined;
    default: return undefined;
  }
}

/** The Add after `v` that only adds a per-channel constant (a bias), if `v` has no other reader. */
function biasAdd(v: Value, channels: number): Value | undefined {
  if (v.uses.length !== 1 || v.isGraphOutput) return undefined;
  const add = v.uses[0].node;
  if (!isOnnx(add) || add.opType !== 'Add' || add.inputs.length !== 2) return undefined;
  const other = add.inputs[1 - v.uses[0].index];
  if (!floatConstant(other)) return undefined;
  const t = constantTensor(other)!;
  return t.size === channels ? add.outputs[0] : undefined;
}

export function weightedLayers(graph: Graph): WeightedLayer[] {
  const out: WeightedLayer[] = [];
  for (const node of graph.nodes) {
    const w = weightAxis(node);
    if (!w) continue;
    const weight = node.inputs[w.index]!;
    const channels = constantTensor(weight)!.shape[w.axis];
    const own = node.outputs[0];
    const fullyConnected = node.opType === 'Gemm' || node.opType === 'MatMul';
    // Conv and Gemm take their bias as an input; only a bias-less one can have it in an Add.
    const hasBiasInput = node.inputs[2] !== undefined && node.inputs[2] !== null;
    const output = (!hasBiasInput && biasAdd(own, channels)) || own;
    out.push({ node, weight, weightIndex: w.index, axis: w.axis, output, fullyConnected });
  }
  return out;
}

/**
 * First layers: no weighted layer lies between them and the graph inputs
 * (the paper's first conv; one per input branch). Last layers: no weighted
 * layer lies after them (the paper's last fully connected layer).
 */
export function firstAndLastLayers(graph: Graph, layers: readonly WeightedLayer[]): { first: Set<Node>; last: Set<Node> } {
  const isLayer = new Set(layers.map((l) => l.node));
  const afterLayer = new Set<Value>();
  const first = new Set<Node>();
  for (const node of graph.nodes) {
    const downstream = node.inputs.some((v) => v !== null && afterLayer.has(v));
    if (isLayer.has(node) && !downstream) first.add(node);
    if (downstream || isLayer.has(node)) node.outputs.forEach((v) => afterLayer.add(v));
  }
  const leadsToLayer = new Set<Node>();
  const reaches = (v: Value) => v.uses.some((u) => leadsToLayer.has(u.node));
  const last = new Set<Node>();
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    const below = node.outputs.some(reaches);
    if (isLayer.has(node) && !below) last.add(node);
    if (below || isLayer.has(node)) leadsToLayer.add(node);
  }
  return { first, last };
}

/** Ops that turn logits into what a graph returns without mixing them with anything else. */
const TO_OUTPUT = new Set(['Softmax', 'LogSoftmax', 'Sigmoid', 'Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose']);

/**
 * The logits: layer outputs that are graph outputs, or reach one only
 * through softmax-like and shape ops (the paper's "logits" of a classifier).
 */
export function logitValues(graph: Graph, layers: readonly WeightedLayer[]): Set<Value> {
  const layerOutputs = new Set(layers.map((l) => l.output));
  const out = new Set<Value>();
  for (let v of graph.outputs) {
    for (let guard = 0; guard < graph.nodes.length + 1; guard++) {
      if (layerOutputs.has(v)) {
        out.add(v);
        break;
      }
      const p = v.producer;
      if (!p || !isOnnx(p) || !TO_OUTPUT.has(p.opType) || !p.inputs[0]) break;
      v = p.inputs[0];
    }
  }
  return out;
}
