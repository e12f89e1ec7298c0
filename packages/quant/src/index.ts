export * from './rounding';
export * from './layout';
export * from './params';
export * from './quantize';
export * from './pack';
// The seeded generator lives in @nibble/ir; re-exported for the passes' synthetic tensors.
export { SeededRandom } from '@nibble/ir';
