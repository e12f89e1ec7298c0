/*
 * @nibble/test-support: helpers that several packages' tests share (array
 * comparison, synthetic data, fixture photos). Test code only: lint lets
 * *.spec.ts and testing/ files import it, and no production code may.
 */
export { closeTo, maxAbsError, maxRelError, nhwcToNchw } from './compare';
export { photoNhwc } from './images';
export { randomFloats } from './random';
