export { errorInFile, isNibbleError, NibbleError } from './errors';
export { type DType, dtypeFromOnnx, DTYPES, integerRange } from './dtype';
export { float16BitsToNumber, numberToFloat16Bits } from './float16';
export { packedByteLength } from './nibbles';
export { type Shape, shapeSize, Tensor, type TensorData } from './tensor';
export { attr, type Attribute } from './attributes';
export { BIAS_CORRECTION_KEY, FLOAT_WEIGHT_KEY, type QuantAnnotation, WEIGHT_ROUNDING_KEY } from './quant-annotation';
export {
  clearQuantPoint, markedValues, moveQuantPoint, quantPointOf, readerBoundsOf, setQuantPoint, ONE_SIDED_KEY, UPPER_BOUND_KEY,
  type QuantPoint, type QuantRole, type QuantTarget,
} from './quant-point';
export { createModel, type Dim, Graph, type Model, Node, Value, type ValueType } from './graph';
export { cloneGraph, cloneModel } from './clone';
export { checkSupportedOps, getOpSchema, type InferContext, type KnownValue, registerOp } from './ops/registry';
export { constantNodeTensor, constantTensor } from './ops/all';
export { inferNodeTypes, inferShapes } from './shape-inference';
export { printGraph } from './printer';
export { parseGraph } from './parser';
export { SeededRandom } from './random';
export { layoutAxis, layoutShape, type LoweredTensor, NHWC_TO_NCHW, samePadding, type ValueLayout } from './builder/nhwc';
export { transposeTensor } from './builder/transpose';
export { GraphBuilder } from './builder/graph-builder';
export { IO_TRANSPOSES_KEY, SOURCE_FORMAT_KEY, SOURCE_LAYOUT_KEY } from './builder/import-metadata';
