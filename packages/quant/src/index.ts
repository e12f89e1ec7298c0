export { roundHalfEven, toFloat32 } from './rounding';
export { fixedPointMultiplier, requantizeFixed, requantizeFixedParams, requantizeFloat, requantizeFloatParams, type RequantizeFixed, type RequantizeFloat } from './requantize';
export { channelLayout, channelMinMax, normalizeAxis } from './layout';
export {
  checkParams, levelRange, paramsFromRange, paramsOfAnnotation, representableRange, MAX_BITS, type AffineParams,
} from './params';
export { dequantize, fakeQuantize, quantizationMse, quantize } from './quantize';
export { containerDType, scaleTensor, toIntegerTensor, zeroPointTensor } from './pack';
// The seeded generator lives in @nibble/ir; re-exported for the passes' synthetic tensors.
export { SeededRandom } from '@nibble/ir';
export { decodeCodes, encodeCodes, normalizeCounts, type CodeLayout, type FreqTable } from './entropy';
