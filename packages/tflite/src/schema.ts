/**
 * Field ids and enum values of the TFLite flatbuffer schema (schema version
 * 3), as far as the reader needs them. A field id is the field's position in
 * its table; a union takes two ids (its type byte, then its value).
 */

export const F = {
  Model: { version: 0, operatorCodes: 1, subgraphs: 2, description: 3, buffers: 4, metadataBuffer: 5, metadata: 6, signatureDefs: 7 },
  OperatorCode: { deprecatedBuiltinCode: 0, customCode: 1, version: 2, builtinCode: 3 },
  SubGraph: { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 },
  Buffer: { data: 0, offset: 1, size: 2 },
  Metadata: { name: 0, buffer: 1 },
  Tensor: { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, isVariable: 5, sparsity: 6, shapeSignature: 7, hasRank: 8 },
  QuantizationParameters: { min: 0, max: 1, scale: 2, zeroPoint: 3, detailsType: 4, details: 5, quantizedDimension: 6 },
  SparsityParameters: { traversalOrder: 0, blockMap: 1, dimMetadata: 2 },
  DimensionMetadata: { format: 0, denseSize: 1, arraySegmentsType: 2, arraySegments: 3, arrayIndicesType: 4, arrayIndices: 5 },
  /** Int32Vector, Uint16Vector and Uint8Vector all hold one field, `values`. */
  IndexVector: { values: 0 },
  Operator: {
    opcodeIndex: 0, inputs: 1, outputs: 2, builtinOptionsType: 3, builtinOptions: 4, customOptions: 5, customOptionsFormat: 6,
    mutatingVariableInputs: 7, intermediates: 8, largeCustomOptionsOffset: 9, largeCustomOptionsSize: 10,
  },
  SignatureDef: { inputs: 0, outputs: 1, signatureKey: 2, subgraphIndex: 4 },
  TensorMap: { name: 0, tensorIndex: 1 },

  Conv2DOptions: { padding: 0, strideW: 1, strideH: 2, activation: 3, dilationW: 4, dilationH: 5 },
  DepthwiseConv2DOptions: { padding: 0, strideW: 1, strideH: 2, depthMultiplier: 3, activation: 4, dilationW: 5, dilationH: 6 },
  Pool2DOptions: { padding: 0, strideW: 1, strideH: 2, filterWidth: 3, filterHeight: 4, activation: 5 },
  FullyConnectedOptions: { activation: 0, weightsFormat: 1, keepNumDims: 2 },
  SoftmaxOptions: { beta: 0 },
  ConcatenationOptions: { axis: 0, activation: 1 },
  /** AddOptions, SubOptions, MulOptions, DivOptions: the activation comes first. */
  ArithmeticOptions: { activation: 0 },
  ResizeBilinearOptions: { alignCorners: 2, halfPixelCenters: 3 },
  ResizeNearestNeighborOptions: { alignCorners: 0, halfPixelCenters: 1 },
  ReshapeOptions: { newShape: 0 },
  ReducerOptions: { keepDims: 0 },
  SqueezeOptions: { squeezeDims: 0 },
  TransposeConvOptions: { padding: 0, strideW: 1, strideH: 2, activation: 3 },
  LeakyReluOptions: { alpha: 0 },
  MirrorPadOptions: { mode: 0 },
  GatherOptions: { axis: 0, batchDims: 1 },
  StridedSliceOptions: { beginMask: 0, endMask: 1, ellipsisMask: 2, newAxisMask: 3, shrinkAxisMask: 4, offset: 5 },
  SplitOptions: { numSplits: 0 },
  PackOptions: { valuesCount: 0, axis: 1 },
  UnpackOptions: { num: 0, axis: 1 },
  DepthToSpaceOptions: { blockSize: 0 },
  BatchMatMulOptions: { adjX: 0, adjY: 1 },
  GeluOptions: { approximate: 0 },
} as const;

/** TensorType values, by name. */
export const TENSOR_TYPES = [
  'FLOAT32', 'FLOAT16', 'INT32', 'UINT8', 'INT64', 'STRING', 'BOOL', 'INT16', 'COMPLEX64', 'INT8',
  'FLOAT64', 'COMPLEX128', 'UINT64', 'RESOURCE', 'VARIANT', 'UINT32', 'UINT16', 'INT4',
] as const;
export type TensorTypeName = (typeof TENSOR_TYPES)[number];

export function tensorTypeName(code: number): TensorTypeName | `TYPE_${number}` {
  return TENSOR_TYPES[code] ?? `TYPE_${code}`;
}

export enum Padding { SAME = 0, VALID = 1 }

export enum Activation { NONE = 0, RELU = 1, RELU_N1_TO_1 = 2, RELU6 = 3, TANH = 4, SIGN_BIT = 5 }

export enum DimensionType { DENSE = 0, SPARSE_CSR = 1 }

/** SparseIndexVector union members (0 is NONE). */
export enum SparseIndexKind { NONE = 0, INT32 = 1, UINT16 = 2, UINT8 = 3 }

/** BuiltinOperator names, indexed by code (schema order; codes past the list print as BUILTIN_<n>). */
const BUILTIN_NAMES = [
  'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEPTH_TO_SPACE', 'DEQUANTIZE',
  'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED', 'HASHTABLE_LOOKUP', 'L2_NORMALIZATION', 'L2_POOL_2D',
  'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D', 'MUL', 'RELU',
  'RELU_N1_TO_1', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN', 'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH',
  'CONCAT_EMBEDDINGS', 'SKIP_GRAM', 'CALL', 'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD',
  'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER', 'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE', 'MEAN', 'SUB',
  'DIV', 'SQUEEZE', 'UNIDIRECTIONAL_SEQUENCE_LSTM', 'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP', 'TOPK_V2',
  'SPLIT', 'LOG_SOFTMAX', 'DELEGATE', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU', 'MAXIMUM', 'ARG_MAX',
  'MINIMUM', 'LESS', 'NEG', 'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT', 'SLICE', 'SIN',
  'TRANSPOSE_CONV', 'SPARSE_TO_DENSE', 'TILE', 'EXPAND_DIMS', 'EQUAL', 'NOT_EQUAL', 'LOG', 'SUM', 'SQRT', 'RSQRT',
  'SHAPE', 'POW', 'ARG_MIN', 'FAKE_QUANT', 'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR', 'ONE_HOT',
  'LOGICAL_AND', 'LOGICAL_NOT', 'UNPACK', 'REDUCE_MIN', 'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE', 'ZEROS_LIKE', 'FILL',
  'FLOOR_MOD', 'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU', 'SQUARED_DIFFERENCE', 'MIRROR_PAD', 'ABS',
  'SPLIT_V', 'UNIQUE', 'CEIL', 'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE', 'RANK', 'ELU',
  'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE', 'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH', 'IF', 'WHILE',
  'NON_MAX_SUPPRESSION_V4', 'NON_MAX_SUPPRESSION_V5', 'SCATTER_ND', 'SELECT_V2', 'DENSIFY', 'SEGMENT_SUM',
  'BATCH_MATMUL', 'PLACEHOLDER_FOR_GREATER_OP_CODES', 'CUMSUM', 'CALL_ONCE', 'BROADCAST_TO', 'RFFT2D', 'CONV_3D',
  'IMAG', 'REAL', 'COMPLEX_ABS', 'HASHTABLE', 'HASHTABLE_FIND', 'HASHTABLE_IMPORT', 'HASHTABLE_SIZE', 'REDUCE_ALL',
  'CONV_3D_TRANSPOSE', 'VAR_HANDLE', 'READ_VARIABLE', 'ASSIGN_VARIABLE', 'BROADCAST_ARGS', 'RANDOM_STANDARD_NORMAL',
  'BUCKETIZE', 'RANDOM_UNIFORM', 'MULTINOMIAL', 'GELU', 'DYNAMIC_UPDATE_SLICE', 'RELU_0_TO_1',
  'UNSORTED_SEGMENT_PROD', 'UNSORTED_SEGMENT_MAX', 'UNSORTED_SEGMENT_SUM', 'ATAN2', 'UNSORTED_SEGMENT_MIN', 'SIGN',
  'BITCAST', 'BITWISE_XOR', 'RIGHT_SHIFT',
];

export const BUILTIN_CUSTOM = 32;

export function builtinName(code: number): string {
  return BUILTIN_NAMES[code] ?? `BUILTIN_${code}`;
}

/**
 * The BuiltinOptions union member each operator reads (the union's 1-based
 * index). TFLite ignores options of another type, and so does the reader.
 */
export const OPTIONS_TYPE: Readonly<Record<string, number>> = {
  CONV_2D: 1, DEPTHWISE_CONV_2D: 2, AVERAGE_POOL_2D: 5, MAX_POOL_2D: 5, L2_POOL_2D: 5, FULLY_CONNECTED: 8, SOFTMAX: 9,
  CONCATENATION: 10, ADD: 11, RESIZE_BILINEAR: 15, RESHAPE: 17, SPACE_TO_DEPTH: 19, MUL: 21, PAD: 22, GATHER: 23,
  TRANSPOSE: 26, MEAN: 27, SUM: 27, REDUCE_MAX: 27, REDUCE_MIN: 27, REDUCE_PROD: 27, SUB: 28, DIV: 29, SQUEEZE: 30,
  STRIDED_SLICE: 32, SPLIT: 35, PADV2: 43, TRANSPOSE_CONV: 49, EXPAND_DIMS: 52, PACK: 59, UNPACK: 64,
  RESIZE_NEAREST_NEIGHBOR: 74, LEAKY_RELU: 75, SQUARED_DIFFERENCE: 76, MIRROR_PAD: 77, HARD_SWISH: 91, DEPTH_TO_SPACE: 94,
  BATCH_MATMUL: 101, GELU: 116,
};
