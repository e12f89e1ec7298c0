import type { LowerContext } from './context';
import {
  lowerConv2d, lowerConvolution2DTransposeBias, lowerDepthwiseConv2d, lowerFullyConnected, lowerTransposeConv,
} from './lower-conv';
import { BINARY_OPS, UNARY_OPS, lowerBinary, lowerPrelu, lowerSquaredDifference, lowerUnary } from './lower-elementwise';
import {
  REDUCE_OPS, lowerAveragePool, lowerConcatenation, lowerDepthSpace, lowerMaxPool, lowerPad, lowerReduce, lowerReshape, lowerResize,
  lowerSoftmax, lowerTranspose,
} from './lower-shape';

export type Lowering = (ctx: LowerContext) => void;

/**
 * Operators nibble lowers, by TFLite name (builtins) or custom code.
 * DEQUANTIZE and DENSIFY of constants are folded by the importer itself.
 */
export const LOWERINGS: Readonly<Record<string, Lowering>> = {
  CONV_2D: lowerConv2d,
  DEPTHWISE_CONV_2D: lowerDepthwiseConv2d,
  TRANSPOSE_CONV: lowerTransposeConv,
  FULLY_CONNECTED: lowerFullyConnected,
  AVERAGE_POOL_2D: lowerAveragePool,
  MAX_POOL_2D: lowerMaxPool,
  CONCATENATION: lowerConcatenation,
  RESHAPE: lowerReshape,
  SQUEEZE: lowerReshape,
  EXPAND_DIMS: lowerReshape,
  TRANSPOSE: lowerTranspose,
  PAD: lowerPad,
  PADV2: lowerPad,
  MIRROR_PAD: lowerPad,
  SOFTMAX: lowerSoftmax,
  RESIZE_BILINEAR: lowerResize,
  RESIZE_NEAREST_NEIGHBOR: lowerResize,
  DEPTH_TO_SPACE: lowerDepthSpace,
  SPACE_TO_DEPTH: lowerDepthSpace,
  SQUARED_DIFFERENCE: lowerSquaredDifference,
  PRELU: lowerPrelu,
  ...Object.fromEntries(BINARY_OPS.map((op) => [op, lowerBinary])),
  ...Object.fromEntries(UNARY_OPS.map((op) => [op, lowerUnary])),
  ...Object.fromEntries(REDUCE_OPS.map((op) => [op, lowerReduce])),
  // MediaPipe's transposed convolution with bias (a custom op).
  Convolution2DTransposeBias: lowerConvolution2DTransposeBias,
};

/** Folded at import when their input is constant (weights stored as float16, int8 or sparse). */
export const FOLDED_OPS = ['DEQUANTIZE', 'DENSIFY'];

/** Every TFLite operator the reader accepts, sorted. */
export function supportedTfliteOps(): string[] {
  return [...Object.keys(LOWERINGS), ...FOLDED_OPS].sort();
}
