import { type Graph, NibbleError, type Value } from '@nibble/ir';

/*
 * The quantization point mark of docs/quantized-ir.md, which `quant-policy`
 * (@nibble/pass-quantize) writes to `value.meta.quantPoint`. Pass packages
 * may not import each other, so this is a reader of the documented shape,
 * the same in every quantization pass package; the document is the contract.
 */

/** Why a point has the width it has (alloc-bits gives a global budget only to 'default' points). */
export type QuantRole = 'default' | 'first-layer' | 'last-layer' | 'logits' | 'pool' | 'override';

export const QUANT_ROLES: readonly QuantRole[] = ['default', 'first-layer', 'last-layer', 'logits', 'pool', 'override'];

export interface QuantPoint {
  kind: 'activation' | 'weight';
  /** The policy's bit-width, the same for every channel until alloc-bits sets per-channel widths. */
  bits: number;
  /** Per channel along `axis`; otherwise per tensor (the annotation's axis is then null). */
  perChannel: boolean;
  /**
   * The channel axis: 1 for activations, the output-channel axis for weights
   * (0 for Conv, 1 for ConvTranspose, per Gemm's transB, the last for MatMul).
   * Kept when the point is per tensor: bias correction works per output channel.
   */
  axis: number;
  /** Container signedness: weights signed (int4/int8), activations unsigned (uint4/uint8). */
  signed: boolean;
  role: QuantRole;
  /** The layer the point belongs to: an activation's producer, a weight's (first) consumer. */
  layer: string;
  /** That layer's op type (e.g. clip-aciq{fc-minmax} finds fully connected outputs by it). */
  op: string;
}

export const QUANT_POINT_KEY = 'quantPoint';

function bad(v: Value, why: string): NibbleError {
  return new NibbleError('E_INVALID_GRAPH', `value '${v.name}': meta.quantPoint ${why}`, {
    value: v.name,
    hint: 'quantization points are written by quant-policy; run it again rather than editing marks by hand',
  });
}

/** The mark of `v`, validated, or undefined when the value is not a quantization point. */
export function quantPointOf(v: Value): QuantPoint | undefined {
  const m = v.meta[QUANT_POINT_KEY] as Partial<QuantPoint> | undefined;
  if (m === undefined) return undefined;
  if (typeof m !== 'object' || m === null) throw bad(v, 'is not an object');
  if (m.kind !== 'activation' && m.kind !== 'weight') throw bad(v, `has kind ${String(m.kind)}`);
  if (!Number.isInteger(m.bits) || m.bits! < 0 || m.bits! > 8) throw bad(v, `has bits ${String(m.bits)} (0..8 allowed)`);
  if (typeof m.perChannel !== 'boolean' || typeof m.signed !== 'boolean') throw bad(v, 'lacks perChannel/signed');
  if (!Number.isInteger(m.axis) || m.axis! < 0) throw bad(v, `has axis ${String(m.axis)}`);
  if (!QUANT_ROLES.includes(m.role as QuantRole)) throw bad(v, `has role ${String(m.role)}`);
  return m as QuantPoint;
}

export type QuantTarget = 'weights' | 'activations' | 'all';

export function targetIncludes(target: QuantTarget, kind: QuantPoint['kind']): boolean {
  return target === 'all' || (target === 'weights') === (kind === 'weight');
}

/** Marked values with their marks: initializers first, then node outputs in graph order (deterministic). */
export function markedValues(graph: Graph, target: QuantTarget = 'all'): { value: Value; point: QuantPoint }[] {
  const out: { value: Value; point: QuantPoint }[] = [];
  const seen = new Set<Value>();
  const visit = (v: Value | null) => {
    if (!v || seen.has(v)) return;
    seen.add(v);
    const point = quantPointOf(v);
    if (point && targetIncludes(target, point.kind)) out.push({ value: v, point });
  };
  graph.initializers.forEach(visit);
  graph.inputs.forEach(visit);
  for (const n of graph.nodes) n.outputs.forEach(visit);
  return out;
}
