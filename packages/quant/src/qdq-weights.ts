import { constantTensor, type Node, type Tensor, type Value } from '@nibble/ir';

/**
 * A layer's weight as the integer backend needs it: integer levels
 * (q - zp) per element, a float32 scale per output channel, and the
 * bias-correction shift per output channel when the QDQ file adds one
 * (`Add(DequantizeLinear(q), shift)`, docs/quantized-ir.md). A float weight
 * (a layer kept in float) has `integer: false`, its values in `levels` and
 * scale 1.
 */
export interface ResolvedWeight {
  shape: number[];
  /** The output-channel axis of `shape`. */
  axis: number;
  levels: Float64Array;
  scale: Float64Array;
  shift?: Float64Array;
  integer: boolean;
}

const isDefaultDomain = (n: Node): boolean => n.domain === '' || n.domain === 'ai.onnx';

function tensorOf(v: Value | null | undefined): Tensor | undefined {
  return v ? constantTensor(v) : undefined;
}

/** Values computed from constants alone: initializers, Constant nodes, and DequantizeLinear/Add/Identity of those. */
export function staticValues(nodes: readonly Node[], initializers: readonly Value[]): Set<Value> {
  const s = new Set<Value>(initializers);
  for (const n of nodes) {
    const foldable = n.opType === 'Constant' || (['DequantizeLinear', 'Add', 'Identity'].includes(n.opType) && isDefaultDomain(n) && n.inputs.every((v) => !v || s.has(v)));
    if (foldable) n.outputs.forEach((v) => s.add(v));
  }
  return s;
}

/** The output-channel extent along `axis`, and the index of element i's channel. */
function channelIndexer(shape: readonly number[], axis: number): (i: number) => number {
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channels = shape[axis];
  return (i) => Math.floor(i / inner) % channels;
}

/** Resolve weight value `v` with output-channel axis `axis`; undefined when it is not a constant this backend understands. */
export function resolveWeight(v: Value | null | undefined, axis: number): ResolvedWeight | undefined {
  if (!v) return undefined;
  const plain = tensorOf(v);
  if (plain) {
    if (!plain.dtype.startsWith('float')) return undefined;
    const shape = [...plain.shape];
    return { shape, axis, levels: plain.toFloat64(), scale: new Float64Array(shape[axis]).fill(1), integer: false };
  }
  const p = v.producer;
  if (!p || !isDefaultDomain(p)) return undefined;
  if (p.opType === 'Identity') return resolveWeight(p.inputs[0], axis);
  if (p.opType === 'Add') {
    const [a, b] = p.inputs;
    const base = resolveWeight(a, axis);
    const shiftT = tensorOf(b);
    if (!base || !shiftT || base.shift) return undefined;
    const channels = base.shape[axis];
    const sv = shiftT.toFloat64();
    // The shift must vary along the output axis only: [C,1,...] broadcast against the weight.
    const rank = base.shape.length;
    const sShape = [...new Array<number>(rank - shiftT.shape.length).fill(1), ...shiftT.shape];
    if (sShape.some((d, i) => d !== 1 && (i !== axis || d !== channels))) return undefined;
    const shift = new Float64Array(channels);
    for (let c = 0; c < channels; c++) shift[c] = sv.length === 1 ? sv[0] : sv[c];
    return { ...base, shift };
  }
  if (p.opType !== 'DequantizeLinear') return undefined;
  const q = tensorOf(p.inputs[0]);
  const s = tensorOf(p.inputs[1]);
  const z = tensorOf(p.inputs[2]);
  if (!q || !s || q.dtype.startsWith('float')) return undefined;
  if (p.getInt('block_size', 0) !== 0) return undefined;
  const shape = [...q.shape];
  const scales = s.toFloat64();
  const zps = z ? z.toFloat64() : new Float64Array(scales.length);
  const perAxis = scales.length > 1 || s.shape.length === 1;
  if (perAxis) {
    const a = p.getInt('axis', 1);
    if ((a < 0 ? a + shape.length : a) !== axis) return undefined;
  }
  const channels = shape[axis];
  const of = channelIndexer(shape, axis);
  const raw = q.toFloat64();
  const levels = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) levels[i] = raw[i] - zps[perAxis ? of(i) : 0];
  const scale = new Float64Array(channels);
  for (let c = 0; c < channels; c++) scale[c] = scales[perAxis ? c : 0];
  return { shape, axis, levels, scale, integer: true };
}
