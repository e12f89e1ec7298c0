// The kernels of @nibble/backend-wasm, one module (built by scripts/build.mjs).
export { convCodes } from './conv-codes';
export { convReal } from './conv-real';
export { convGemm, pairRows, pairTaps, tapPlaneWidth } from './conv-gemm';
export { padPlanesCodes } from './planes';
export { convDepthwise, depthwisePadBytes } from './conv-depthwise';
export { quantize, dequantize, clampCodes, mapCodes } from './quantize';
export { addReal, addCodes, clipReal } from './elementwise';
export { maxPoolCodes, maxPoolReal, globalAvgPoolCodes, globalAvgPoolReal } from './pool';

// Where the module's own data ends: the executor places its arena above it.
export function heapBase(): usize {
  return __heap_base;
}
export { padPlanes, softmaxReal } from './misc';
export { unpackPairTiles, unpackTaps } from './unpack';
export { lookupReal, channelOpReal, resizeNearest, depthToSpace } from './lookup';
export { winogradInput, winogradGemm, winogradOutput, winogradWeights } from './winograd';
