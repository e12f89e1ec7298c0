// The kernels of @nibble/backend-wasm, one module (built by scripts/build.mjs).
export { convCodes } from './conv-codes';
export { convReal } from './conv-real';
export { quantize, dequantize, clampCodes } from './quantize';
export { addReal, clipReal } from './elementwise';
export { maxPoolCodes, maxPoolReal, globalAvgPoolCodes, globalAvgPoolReal } from './pool';

// Where the module's own data ends: the executor places its arena above it.
export function heapBase(): usize {
  return __heap_base;
}
