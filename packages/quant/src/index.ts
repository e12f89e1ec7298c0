export { roundHalfEven, toFloat32 } from './rounding';
export { fixedPointMultiplier, requantizeFixed, requantizeFixedParams, requantizeFloat, requantizeFloatParams, type RequantizeFixed, type RequantizeFloat } from './requantize';
export { channelLayout, channelMinMax, normalizeAxis } from './layout';
export {
  bitsForLevels, channelGridOf, channelLevelRange, checkLevels, checkParams, levelCount, levelRange, paramsFromRange, paramsOfAnnotation, representableRange, MAX_BITS, type AffineParams, type ChannelGrid,
} from './params';
export { dequantize, fakeQuantize, quantizationMse, quantize } from './quantize';
export { containerDType, scaleTensor, toIntegerTensor, zeroPointTensor } from './pack';
// The seeded generator lives in @nibble/ir; re-exported for the passes' synthetic tensors.
export { SeededRandom } from '@nibble/ir';
export { crc32Update, decodeCodes, decodePackedNibbles, encodeCodes, normalizeCounts, setWasmDecoding, type CodeLayout, type FreqTable } from './entropy';
export { resolveWeight, staticValues, type ResolvedWeight } from './qdq-weights';
export {
  channelScaleOperands, checkGlobalWindow, clampedCodeBounds, clampOnGrid, clipBounds, codesOntoGrid, concatenatedGrid, concatLayout, convOperands, convTransposeAsPointwise, convShape, expandChannels, fusableQuantize, gemmOperands, maxPoolWindow, outExtent, POINTWISE, qdqParams, reshapeTarget,
  type CodesGrid, type Fail, type Geometry, type QdqParams,
} from './qdq-ops';
export { channelConstant, composeCodeTables, dequantizedCodeValues, quantizeF32, tableOntoGrid, type CodeValues, type TableOperand } from './code-tables';
export { nearestResize } from './resize-nearest';
export { insertFakeQuantize, levelGridOf, type LevelGrid } from './fake-quantize-graph';
