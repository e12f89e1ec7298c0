import type { Dim, Value } from '../graph';

/*
 * Importers of NHWC formats (TF.js, TFLite) lower to ONNX operators, whose
 * convolutions read NCHW. Each source tensor is held in one of two layouts
 * and moved between them only where an operator needs it.
 */

/**
 * How an IR value holds a source tensor: 'plain' keeps the source's element
 * order; 'nchw' holds a rank-4 NHWC tensor transposed to NCHW.
 */
export type ValueLayout = 'plain' | 'nchw';

/**
 * A source tensor as lowered so far: its IR value, the layout it is in, and
 * its shape in the source's (NHWC) axis order. D is the importer's dimension
 * type (TFLite knows every dim; TF.js leaves the batch null).
 */
export interface LoweredTensor<D extends Dim = Dim> {
  value: Value;
  layout: ValueLayout;
  shape: D[];
}

/** perm with NCHW tensor = transpose(NHWC tensor, perm). */
export const NHWC_TO_NCHW = [0, 3, 1, 2];
/** perm with NHWC tensor = transpose(NCHW tensor, perm). */
export const NCHW_TO_NHWC = [0, 2, 3, 1];

/** IR shape of a tensor of source shape `shape` held in `layout`. */
export function layoutShape<D extends Dim>(shape: readonly D[], layout: ValueLayout): D[] {
  return layout === 'nchw' ? NHWC_TO_NCHW.map((a) => shape[a]) : [...shape];
}

/** IR axis of source axis `axis` (negative counts from the end) of a rank-`rank` tensor held in `layout`. */
export function layoutAxis(axis: number, rank: number, layout: ValueLayout): number {
  const a = axis < 0 ? axis + rank : axis;
  return layout === 'nchw' ? NHWC_TO_NCHW.indexOf(a) : a;
}

/**
 * Explicit [begin, end] padding of TensorFlow's 'SAME' (ONNX's SAME_UPPER)
 * along one spatial axis: output ceil(in / stride), the odd pixel at the end.
 */
export function samePadding(inSize: number, kernel: number, stride: number, dilation: number): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + effective - inSize, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}
