import { cloneModel, constantTensor, inferShapes, type Dim, type Model, type Node, type Tensor } from '@nibble/ir';
import { MODEL_PREPROCESS_KEY } from './datasets';
import { withInputShapes } from './input-shapes';

export interface LayerCost {
  node: string;
  op: string;
  /** Multiply-accumulates for one sample (batch dimension taken as 1); null when shapes are dynamic. */
  macs: number | null;
  params: number;
  outputShape?: Dim[];
}

export interface ModelReport {
  irVersion: number;
  opsets: Record<string, number>;
  inputs: { name: string; dtype?: string; shape?: Dim[] }[];
  outputs: { name: string; dtype?: string; shape?: Dim[] }[];
  nodes: number;
  ops: Record<string, number>;
  /** Elements of all initializers and Constant-node tensors. */
  parameters: number;
  parametersByDtype: Record<string, number>;
  /** Bytes of those tensors as stored. */
  parameterBytes: number;
  /** Sum over layers with known MACs. */
  macs: number;
  /** Layers whose MACs are unknown because their shapes are dynamic (give input shapes). */
  layersWithUnknownMacs: number;
  layers: LayerCost[];
  /** The preprocessing the model declares (its nibble.preprocess metadata), or null. */
  preprocess: string | null;
}

export interface InspectOptions {
  /** Fixed shapes for graph inputs (e.g. { x: [1, 3, 48, 192] }) so dynamic dims resolve. */
  inputShapes?: Record<string, number[]>;
}

function constTensors(model: Model): Tensor[] {
  const out: Tensor[] = model.graph.initializers.map((v) => v.const!);
  for (const n of model.graph.nodes) {
    if (n.opType === 'Constant') {
      const t = n.getAttr('value', 'tensor');
      if (t) out.push(t);
    }
  }
  return out;
}

const staticDims = (shape: Dim[] | undefined): number[] | undefined =>
  shape?.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : NaN));

const product = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);

const COMPUTE_OPS = new Set(['Conv', 'ConvInteger', 'ConvTranspose', 'Gemm', 'MatMul', 'MatMulInteger']);

/** MACs of the compute-heavy ops; null when a shape they need is dynamic. */
function layerMacs(node: Node): number | null {
  const out = staticDims(node.outputs[0]?.type?.shape);
  const w = staticDims(node.inputs[1]?.type?.shape);
  const x = staticDims(node.inputs[0]?.type?.shape);
  if (!out || !w) return null;
  let macs = 0;
  switch (node.opType) {
    case 'Conv':
    case 'ConvInteger':
      // Each output element reads Cin/group * prod(kernel) weights: w is [Cout, Cin/group, k...].
      macs = product(out.slice(1)) * product(w.slice(1));
      break;
    case 'ConvTranspose':
      // Each input element scatters into Cout/group * prod(kernel) outputs: w is [Cin, Cout/group, k...].
      macs = x ? product(x.slice(1)) * product(w.slice(1)) : NaN;
      break;
    case 'Gemm': {
      const k = node.getInt('transB', 0) ? w[1] : w[0];
      macs = product(out.slice(1)) * k;
      break;
    }
    case 'MatMul':
    case 'MatMulInteger': {
      const k = w.length >= 2 ? w[w.length - 2] : w[0];
      macs = product(out.slice(1)) * k;
      break;
    }
    default:
      return 0;
  }
  return Number.isFinite(macs) ? macs : null;
}

/** What `nibble inspect` prints: interface, op histogram, parameters, MACs per layer. */
export function inspectModel(source: Model, options: InspectOptions = {}): ModelReport {
  const model = options.inputShapes ? withInputShapes(source, options.inputShapes) : cloneModel(source);
  const g = model.graph;
  inferShapes(g, { opset: model.opsetImports.get('') ?? 21, overwrite: true });
  const tensors = constTensors(model);
  const parametersByDtype: Record<string, number> = {};
  for (const t of tensors) parametersByDtype[t.dtype] = (parametersByDtype[t.dtype] ?? 0) + t.size;
  const ops: Record<string, number> = {};
  for (const n of g.nodes) {
    const op = n.domain ? `${n.domain}.${n.opType}` : n.opType;
    ops[op] = (ops[op] ?? 0) + 1;
  }
  const layers: LayerCost[] = [];
  for (const n of g.nodes) {
    if (!COMPUTE_OPS.has(n.opType)) continue;
    // Weights may be initializers or Constant nodes (as in PP-OCR's exports).
    const params = n.inputs.slice(1).reduce((s, v) => s + (constantTensor(v)?.size ?? 0), 0);
    layers.push({ node: n.name, op: n.opType, macs: layerMacs(n), params, outputShape: n.outputs[0]?.type?.shape });
  }
  const io = (v: { name: string; type?: { dtype: string; shape?: Dim[] } }) => ({ name: v.name, dtype: v.type?.dtype, shape: v.type?.shape });
  return {
    irVersion: model.irVersion,
    preprocess: source.metadata.get(MODEL_PREPROCESS_KEY) ?? null,
    opsets: Object.fromEntries([...model.opsetImports].map(([d, v]) => [d || 'ai.onnx', v])),
    inputs: g.inputs.filter((v) => !v.isInitializer).map(io),
    outputs: g.outputs.map(io),
    nodes: g.nodes.length,
    ops: Object.fromEntries(Object.entries(ops).sort(([a], [b]) => a.localeCompare(b))),
    parameters: tensors.reduce((s, t) => s + t.size, 0),
    parametersByDtype,
    parameterBytes: tensors.reduce((s, t) => s + t.byteLength, 0),
    macs: layers.reduce((s, l) => s + (l.macs ?? 0), 0),
    layersWithUnknownMacs: layers.filter((l) => l.macs === null).length,
    layers,
  };
}
