import { constantTensor, DTYPES, type Graph, markedValues, type Node, NibbleError, type Tensor, type Value } from '@nibble/ir';

/** Ops whose outputs follow from the input's shape alone, never from its values. */
const SHAPE_ONLY_OPS = new Set(['Shape', 'Size']);

/**
 * Values computed from the model's inputs' contents: graph inputs, then the
 * outputs of every node that reads one. Shape and Size break the chain, so
 * shape arithmetic (Shape -> Gather -> Concat -> Reshape's second input) and
 * constant subgraphs are left out: they are the same for every sample.
 */
export function dataDependentValues(graph: Graph): Set<Value> {
  const live = new Set<Value>(graph.inputs.filter((v) => !v.isInitializer));
  for (const node of graph.nodes) {
    if (SHAPE_ONLY_OPS.has(node.opType) && (node.domain === '' || node.domain === 'ai.onnx')) continue;
    if (node.inputs.some((v) => v !== null && live.has(v))) for (const v of node.outputs) live.add(v);
  }
  return live;
}

/** An activation the analysis will fetch (node output) or read from the feeds (graph input). */
export interface ActivationCandidate {
  readonly name: string;
  readonly source: 'input' | 'node';
  /** Chosen by name (options.values): a non-float value is then an error, not skipped. */
  readonly explicit: boolean;
  /**
   * Whether its mean absolute deviation is wanted (the option `mad` says how).
   * False for a value observed only for its means (a marked layer's input),
   * which then needs no second pass over the data.
   */
  readonly deviation: boolean;
}

function mayBeFloatActivation(v: Value): boolean {
  const t = v.type;
  if (!t) return true;
  if (!DTYPES[t.dtype].isFloat) return false;
  return t.shape === undefined || t.shape.length >= 2;
}

/** How the default choice treats a marked graph (the CalibrationOptions of the same names). */
export interface ObservationOptions {
  /** The data inputs of layers whose weights are marked (default true). */
  layerInputs?: boolean;
}

/**
 * Why the quantization passes read an activation: it is marked (its range,
 * spread and mean), or it is only a marked layer's data input (its
 * per-channel means).
 */
export type QuantizationRead = 'marked' | 'layer-input';

/**
 * The activations the quantization passes will read once `quant-policy` has
 * marked the graph (docs/quantized-ir.md), or undefined when nothing is
 * marked: every marked activation (clipping, allocation and quantize read
 * its statistics), and the data input (input 0) of every layer that reads a
 * marked weight as its input 1 (bias-correct{fold=bias} folds the weight's
 * residual into the bias at that input's per-channel means), unless
 * `layerInputs` is false. Weights are not here: their statistics come from
 * the constants.
 */
export function quantizationReads(graph: Graph, options: ObservationOptions = {}): Map<Value, QuantizationRead> | undefined {
  const marks = markedValues(graph);
  if (marks.length === 0) return undefined;
  const reads = new Map<Value, QuantizationRead>();
  for (const { value, point } of marks) if (point.kind === 'activation') reads.set(value, 'marked');
  for (const { value, point } of marks) {
    if (point.kind !== 'weight' || options.layerInputs === false) continue;
    for (const use of value.uses) {
      const x = use.node.inputs[0];
      if (use.index === 1 && x && !reads.has(x)) reads.set(x, 'layer-input');
    }
  }
  return reads;
}

/**
 * The activations to observe. `names` chooses them. Otherwise, once
 * quantization points are marked, what the quantization passes will read
 * (`quantizationReads`; the mean absolute deviation of marked values only):
 * fetching every activation from the engine costs more than the forward
 * pass itself (docs/benchmarks.md). Without marks (`nibble calibrate`),
 * every data-dependent value. Either way only values that are, or may be,
 * float of rank >= 2 (the first batch settles values without a declared
 * type), in graph order.
 */
export function activationCandidates(graph: Graph, names?: readonly string[], options: ObservationOptions = {}): ActivationCandidate[] {
  if (names) {
    const seen = new Set<string>();
    return names.filter((n) => !seen.has(n) && seen.add(n)).map((name) => {
      const v = graph.value(name);
      if (!v) {
        throw new NibbleError('E_BAD_OPTION', `calibration values name '${name}', which is not a value of graph '${graph.name}'`, {
          option: 'values', value: name, hint: 'name node outputs or graph inputs of the model (see nibble inspect)',
        });
      }
      if (v.isInitializer || (!v.isGraphInput && !v.producer) || constantTensor(v)) {
        throw new NibbleError('E_BAD_OPTION', `calibration value '${name}' is a constant; its statistics are among the weights`, {
          option: 'values', value: name, hint: 'name activations here; weights are always computed from the constants',
        });
      }
      return { name, source: v.isGraphInput ? 'input' as const : 'node' as const, explicit: true, deviation: true };
    });
  }
  const live = dataDependentValues(graph);
  const reads = quantizationReads(graph, options);
  const out: ActivationCandidate[] = [];
  const consider = (v: Value, source: ActivationCandidate['source']) => {
    if (v.name === '' || !live.has(v) || !mayBeFloatActivation(v) || (reads && !reads.has(v))) return;
    out.push({ name: v.name, source, explicit: false, deviation: !reads || reads.get(v) === 'marked' });
  };
  for (const v of graph.inputs) consider(v, 'input');
  for (const node of graph.nodes) for (const v of node.outputs) consider(v, 'node');
  return out;
}

/** A constant whose statistics the analysis computes, with its output-channel axis. */
export interface WeightTarget {
  readonly name: string;
  readonly tensor: Tensor;
  /** Output-channel axis for per-channel statistics; null for scalars. */
  readonly axis: number | null;
}

/**
 * Which axis of a constant input indexes the consumer's output channels:
 * Conv weights [M, C/g, ...] axis 0, ConvTranspose [C, M/g, ...] axis 1,
 * Gemm B axis 0 when transposed else 1, MatMul's constant right side its
 * last axis. Anything else (biases, scales) axis 0.
 */
function outputChannelAxis(node: Node, index: number, rank: number): number | null {
  if (rank === 0) return null;
  const std = node.domain === '' || node.domain === 'ai.onnx';
  if (std && index === 1) {
    if (node.opType === 'ConvTranspose' && rank >= 2) return 1;
    if (node.opType === 'Gemm' && rank === 2) return node.getInt('transB', 0) ? 0 : 1;
    if (node.opType === 'MatMul' && rank >= 2) return rank - 1;
  }
  if (std && index === 0 && node.opType === 'Gemm' && rank === 2) return node.getInt('transA', 0) ? 1 : 0;
  return 0;
}

/**
 * Every float constant (initializer or Constant node output) that a node
 * reads, once, in node order; the first reader decides the channel axis.
 */
export function weightTargets(graph: Graph): WeightTarget[] {
  const out = new Map<string, WeightTarget>();
  for (const node of graph.nodes) {
    node.inputs.forEach((v, i) => {
      if (!v || out.has(v.name)) return;
      const t = constantTensor(v);
      if (!t || !DTYPES[t.dtype].isFloat || t.size === 0) return;
      out.set(v.name, { name: v.name, tensor: t, axis: outputChannelAxis(node, i, t.rank) });
    });
  }
  return [...out.values()];
}
