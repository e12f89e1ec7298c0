import type { TfDim } from './lowered';

/*
 * TensorFlow's StridedSlice spec (begin, end, strides and five bit masks)
 * made dense: one entry per input dimension, plus where the output adds
 * (new_axis_mask) or drops (shrink_axis_mask) a dimension. Follows TF's
 * BuildDenseSpec: an ellipsis expands to the dimensions the other entries
 * leave, and a spec without one ends with an implicit one.
 */

export interface SliceMasks {
  begin: number;
  end: number;
  ellipsis: number;
  newAxis: number;
  shrinkAxis: number;
}

export interface DenseDim {
  begin: number;
  end: number;
  stride: number;
  beginMasked: boolean;
  endMasked: boolean;
  shrink: boolean;
}

export interface DenseSlice {
  dims: DenseDim[];
  /** The output's dimensions in order: an input dimension kept (its index), or a new axis of size 1 ('new'). Shrunk dimensions are absent. */
  output: (number | 'new')[];
}

const bit = (mask: number, i: number): boolean => ((mask >> i) & 1) === 1;

export function denseSlice(rank: number, begin: number[], end: number[], strides: number[], masks: SliceMasks): DenseSlice {
  const n = begin.length;
  let ellipsis = masks.ellipsis;
  let sparse = n;
  // No ellipsis: one is implied after the last entry.
  if (ellipsis === 0) {
    ellipsis = 1 << n;
    sparse = n + 1;
  }
  let newAfterEllipsis = 0;
  let seen = false;
  for (let i = 0; i < sparse; i++) {
    if (seen && bit(masks.newAxis, i)) newAfterEllipsis++;
    if (bit(ellipsis, i)) seen = true;
  }
  const dims: DenseDim[] = [];
  const output: (number | 'new')[] = [];
  const full = (): void => {
    output.push(dims.length);
    dims.push({ begin: 0, end: 0, stride: 1, beginMasked: true, endMasked: true, shrink: false });
  };
  for (let i = 0; i < sparse; i++) {
    if (bit(ellipsis, i)) {
      const next = Math.min(rank - (sparse - i) + 1 + newAfterEllipsis, rank);
      while (dims.length < next) full();
    } else if (bit(masks.newAxis, i)) {
      output.push('new');
    } else {
      if (dims.length >= rank) throw new Error(`slice spec indexes ${dims.length + 1} dimensions of a rank-${rank} tensor`);
      const shrink = bit(masks.shrinkAxis, i);
      if (!shrink) output.push(dims.length);
      dims.push({ begin: begin[i], end: end[i], stride: strides[i] ?? 1, beginMasked: bit(masks.begin, i), endMasked: bit(masks.end, i), shrink });
    }
  }
  while (dims.length < rank) full();
  return { dims, output };
}

/** Canonical [start, stop, step, count] of one dimension of known size, as TF clamps them. */
export function canonicalRange(d: DenseDim, size: number): { start: number; step: number; count: number } {
  const s = d.stride;
  if (s === 0) throw new Error('stride 0');
  if (d.shrink) {
    const start = d.begin < 0 ? d.begin + size : d.begin;
    if (start < 0 || start >= size) throw new Error(`index ${d.begin} is out of range for a dimension of size ${size}`);
    return { start, step: 1, count: 1 };
  }
  const norm = (v: number): number => (v < 0 ? v + size : v);
  const lo = s > 0 ? 0 : -1;
  const hi = s > 0 ? size : size - 1;
  const clamp = (v: number): number => Math.min(Math.max(v, lo), hi);
  const start = d.beginMasked ? (s > 0 ? 0 : size - 1) : clamp(norm(d.begin));
  const stop = d.endMasked ? (s > 0 ? size : -1) : clamp(norm(d.end));
  const count = Math.max(0, Math.ceil((stop - start) / s));
  return { start, step: s, count };
}

/** The output shape of a dense slice of an input of shape `shape` (unknown sizes stay unknown). */
export function slicedShape(slice: DenseSlice, shape: TfDim[]): TfDim[] {
  return slice.output.map((o) => {
    if (o === 'new') return 1;
    const size = shape[o];
    return size === null ? null : canonicalRange(slice.dims[o], size).count;
  });
}
