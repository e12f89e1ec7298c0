import { constantTensor, type Node } from '@nibble/ir';
import { F, Padding } from '../schema';
import { biasTensor, type Emitter, filterTensor, keepGrid, rank4 } from './ops';
import { transposedFilterOf } from './filters';
import { tfliteError } from './grid';

/*
 * Ops that enlarge an image: nearest-neighbour Resize (it selects input
 * levels, so it keeps its input's grid, as the simulation does) and
 * ConvTranspose (a layer: per-channel int8 filters, an int32 bias, one
 * requantization, which tflite-bias aligns like a Conv's).
 */

/**
 * ONNX Resize (nearest) conventions that TFLite's RESIZE_NEAREST_NEIGHBOR
 * computes, as its (align_corners, half_pixel_centers). TFLite picks input
 * row floor(y * in / out) (plain), round-half-up(y * (in - 1) / (out - 1))
 * (align corners) or floor((y + 1/2) * in / out) (half-pixel centers);
 * ONNX's asymmetric + floor, align_corners + round_prefer_ceil and
 * half_pixel + round_prefer_ceil are the same indices when ONNX's scale is
 * out / in.
 */
function nearestConvention(n: Node): [boolean, boolean] | undefined {
  const mode = n.getString('coordinate_transformation_mode', n.opType === 'Upsample' ? 'asymmetric' : 'half_pixel');
  const rounding = n.getString('nearest_mode', 'round_prefer_floor');
  if (mode === 'asymmetric' && rounding === 'floor') return [false, false];
  if (mode === 'align_corners' && rounding === 'round_prefer_ceil') return [true, false];
  if ((mode === 'half_pixel' || mode === 'pytorch_half_pixel') && rounding === 'round_prefer_ceil') return [false, true];
  return undefined;
}

const resize: Emitter = (w, n) => {
  const x = w.slot(n.inputs[0], n);
  rank4(w, n, x);
  const y = n.outputs[0];
  const { shape } = w.fileShape(y, n);
  const mode = n.getString('mode', 'nearest');
  if (mode !== 'nearest') {
    throw tfliteError(w.target, n, y, `Resize mode '${mode}' is not written (nearest only)`, 'keep the model for target sim or ort');
  }
  const convention = nearestConvention(n);
  if (!convention) {
    throw tfliteError(w.target, n, y, `nearest Resize with coordinate_transformation_mode '${n.getString('coordinate_transformation_mode', 'half_pixel')}' and nearest_mode '${n.getString('nearest_mode', 'round_prefer_floor')}' has no RESIZE_NEAREST_NEIGHBOR form`,
      'TFLite computes asymmetric + floor, align_corners + round_prefer_ceil and half_pixel + round_prefer_ceil; keep the model for target sim or ort');
  }
  // ONNX maps with the scales given, TFLite with out / in: the two agree when the scales are exactly out / in.
  const scales = n.inputs[2] ? constantTensor(n.inputs[2])?.toFloat64() : n.opType === 'Upsample' ? constantTensor(n.inputs[1] ?? null)?.toFloat64() : undefined;
  if (scales && scales.length === 4 && (x.shape[1] * scales[2] !== shape[1] || x.shape[2] * scales[3] !== shape[2] || scales[0] !== 1 || scales[1] !== 1)) {
    throw tfliteError(w.target, n, y, `scales [${Array.from(scales).join(', ')}] are not output / input sizes`, 'resize by whole factors (or give sizes)');
  }
  const o = F.ResizeNearestNeighborOptions;
  keepGrid(w, n, x, {
    op: 'RESIZE_NEAREST_NEIGHBOR', inputs: [x.index, w.int32(`${n.name}/size`, [shape[1], shape[2]])],
    options: [[o.alignCorners, 'bool', convention[0]], [o.halfPixelCenters, 'bool', convention[1]]],
  });
};

/**
 * ConvTranspose as TRANSPOSE_CONV (inputs: output shape, filter, input,
 * bias). Its padding is VALID (ONNX pads 0) or SAME (output = input *
 * stride, ONNX pads the centred split TFLite crops); the output shape is a
 * constant of the file's batch, so a file with a transposed convolution is
 * written for one batch (withBatch cannot re-state it).
 */
const convTranspose: Emitter = (w, n) => {
  const x = w.slot(n.inputs[0], n);
  rank4(w, n, x);
  const y = n.outputs[0];
  const { shape } = w.fileShape(y, n);
  const [sh, sw] = n.getInts('strides', [1, 1]);
  const f = transposedFilterOf(n, w.target);
  const [, kh, kw] = f.shape;
  const refuse = (why: string) => tfliteError(w.target, n, y, why, 'keep the model for target sim or ort');
  if (n.getInt('group', 1) !== 1) throw refuse(`grouped ConvTranspose (group=${n.getInt('group', 1)}) has no int8 TRANSPOSE_CONV form`);
  if (n.getInts('dilations', [1, 1]).some((d) => d !== 1)) throw refuse('dilated ConvTranspose has no TRANSPOSE_CONV form');
  if (n.getInts('output_padding', [0, 0]).some((p) => p !== 0)) throw refuse('output_padding is not written');
  const auto = n.getString('auto_pad', 'NOTSET');
  const pads = n.getInts('pads', [0, 0, 0, 0]);
  let padding: Padding;
  if (auto === 'VALID' || (auto === 'NOTSET' && pads.every((p) => p === 0))) padding = Padding.VALID;
  else {
    const total = (i: number, s: number, k: number, out: number) => Math.max((i - 1) * s + k - out, 0);
    const [th, tw] = [total(x.shape[1], sh, kh, shape[1]), total(x.shape[2], sw, kw, shape[2])];
    const centred = shape[1] === x.shape[1] * sh && shape[2] === x.shape[2] * sw
      && (auto === 'SAME_UPPER' || (auto === 'NOTSET' && pads[0] === Math.floor(th / 2) && pads[1] === Math.floor(tw / 2) && pads[2] === th - pads[0] && pads[3] === tw - pads[1]));
    if (!centred) throw refuse(`pads [${pads.join(', ')}] (auto_pad ${auto}) are neither VALID nor TFLite's SAME`);
    padding = Padding.SAME;
  }
  const grid = w.outputGrid(n, y);
  const outputShape = w.int32(`${n.name}/output_shape`, shape);
  const o = F.TransposeConvOptions;
  w.produce(n, y, grid, {
    op: 'TRANSPOSE_CONV', inputs: [outputShape, filterTensor(w, n.inputs[1]!.name, f), x.index, biasTensor(w, n, x, f, f.shape[0], grid, 'conv', true)],
    options: [[o.padding, 'i8', padding], [o.strideW, 'i32', sw], [o.strideH, 'i32', sh]],
  });
};

export const UPSAMPLE_EMITTERS: Readonly<Record<string, Emitter>> = { Resize: resize, Upsample: resize, ConvTranspose: convTranspose };
