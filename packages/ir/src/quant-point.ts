import { NibbleError } from './errors';
import type { Graph, Value } from './graph';

/*
 * The quantization point mark of docs/quantized-ir.md: `quant-policy`
 * (@nibble/pass-quantize) writes it to `value.meta.quantPoint`; the clipping,
 * allocation, quantize and bias-correction passes and the calibration
 * analysis (@nibble/stats) read it. Pass packages may not import each other,
 * so the one reader lives here, beside the annotation it leads to.
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

function badMark(v: Value, why: string): NibbleError {
  return new NibbleError('E_INVALID_GRAPH', `value '${v.name}': meta.quantPoint ${why}`, {
    value: v.name,
    hint: 'quantization points are written by quant-policy; run it again rather than editing marks by hand',
  });
}

/** The mark of `v`, validated, or undefined when the value is not a quantization point. */
export function quantPointOf(v: Value): QuantPoint | undefined {
  const m = v.meta[QUANT_POINT_KEY] as Partial<QuantPoint> | undefined;
  if (m === undefined) return undefined;
  if (typeof m !== 'object' || m === null) throw badMark(v, 'is not an object');
  if (m.kind !== 'activation' && m.kind !== 'weight') throw badMark(v, `has kind ${String(m.kind)}`);
  if (!Number.isInteger(m.bits) || m.bits! < 0 || m.bits! > 8) throw badMark(v, `has bits ${String(m.bits)} (0..8 allowed)`);
  if (typeof m.perChannel !== 'boolean' || typeof m.signed !== 'boolean') throw badMark(v, 'lacks perChannel/signed');
  if (!Number.isInteger(m.axis) || m.axis! < 0) throw badMark(v, `has axis ${String(m.axis)}`);
  if (!QUANT_ROLES.includes(m.role as QuantRole)) throw badMark(v, `has role ${String(m.role)}`);
  return m as QuantPoint;
}

export function setQuantPoint(v: Value, p: QuantPoint): void {
  v.meta[QUANT_POINT_KEY] = p;
}

/** Removes the mark; true when there was one. */
export function clearQuantPoint(v: Value): boolean {
  if (!(QUANT_POINT_KEY in v.meta)) return false;
  delete v.meta[QUANT_POINT_KEY];
  return true;
}

/** Moves the mark of `from` (if any) to `to`, e.g. when a pass puts a new value where a layer's output was. */
export function moveQuantPoint(from: Value, to: Value): void {
  if (!(QUANT_POINT_KEY in from.meta)) return;
  to.meta[QUANT_POINT_KEY] = from.meta[QUANT_POINT_KEY];
  delete from.meta[QUANT_POINT_KEY];
}

/*
 * The fused-activation marks mark-fused-relu (@nibble/pass-graph) writes on
 * a value from what its readers do with it:
 * - `meta.oneSided = true`: every reader discards negatives (Relu, or Clip
 *   with a constant lower bound >= 0), so its range is [0, hi];
 * - `meta.upperBound = u` (only with oneSided): every reader is a Clip with
 *   a constant upper bound, and u >= 0 is the largest of them (6 for
 *   ReLU6): nothing above u reaches a reader, so its range ends at u.
 * The clipping passes read them live through readerBoundsOf.
 */
export const ONE_SIDED_KEY = 'oneSided';
export const UPPER_BOUND_KEY = 'upperBound';

export interface ReaderBounds {
  oneSided: boolean;
  /** Present when every reader clips at or below it (then oneSided too). */
  upperBound?: number;
}

/** The fused-activation marks of `v`, validated. */
export function readerBoundsOf(v: Value): ReaderBounds {
  const oneSided = v.meta[ONE_SIDED_KEY] === true;
  const u = v.meta[UPPER_BOUND_KEY];
  if (u === undefined) return { oneSided };
  if (typeof u !== 'number' || !Number.isFinite(u) || u < 0 || !oneSided) {
    throw new NibbleError('E_INVALID_GRAPH', `value '${v.name}': meta.upperBound ${String(u)} is not a finite number >= 0 on a one-sided value`, {
      value: v.name,
      hint: 'the bound is written by mark-fused-relu; run it again rather than editing marks by hand',
    });
  }
  return { oneSided, upperBound: u };
}

export type QuantTarget = 'weights' | 'activations' | 'all';

export function targetIncludes(target: QuantTarget, kind: QuantPoint['kind']): boolean {
  return target === 'all' || (target === 'weights') === (kind === 'weight');
}

/** Marked values with their marks: initializers first, then graph inputs, then node outputs in graph order (deterministic). */
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
