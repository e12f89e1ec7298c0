/*
 * @nibble/test-support: helpers that several packages' tests share (array
 * comparison, synthetic data, fixture photos, calibration without a model).
 * Test code only: lint lets *.spec.ts and testing/ files import it, and no
 * production code may.
 */
export { closeTo, maxAbsError, maxRelError, nhwcToNchw } from './compare';
export { fakeCalibration } from './fake-calibration';
export { photoNhwc } from './images';
export { laplaceActivation, laplaceActivations } from './laplace-activations';
export { randomFloats } from './random';
export { SMALL_NET, samplesOf, smallNetBatches } from './small-net';
