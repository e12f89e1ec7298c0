/*
 * @nibble/testing: the test support that several projects' specs share.
 * Specs and testing/ helpers may import it; lint fails any production file
 * that does (eslint.config.mjs). Helpers that load onnxruntime or TF.js load
 * them on first use, so a spec pays only for what it calls.
 */
export { agreement, compareWithReference, formatAgreements } from './agreement';
export { measureBatchInvariance } from './batch-invariance';
export { closeTo, maxAbsError, maxRelError, nhwcToNchw } from './compare';
export { fakeCalibration } from './fake-calibration';
export { runFloat64, type Array64 } from './float64-reference';
export { laplaceActivation, laplaceActivations } from './laplace-activations';
export { fixturePhoto, loadPhoto, photoNhwc, ppocrInput, type FixturePhoto } from './photos';
export { randomFloats } from './random';
export { buildSmallConvNet, SMALL_NET_INPUT, smallNetInputs } from './small-conv-net';
export { SMALL_NET, samplesOf, smallNetBatches } from './small-net';
export { bruteStats, channelOf, concat, relDiff, runAll, type BruteStats } from './statistics';
export { tfWasm } from './tfjs-wasm';
export { describeWithTfliteRef, runTfliteRef, type RefOutput } from './tflite-ref';
export { workspaceRoot } from './workspace';
// The shared conformance cases of the integer backends (wasm, webgpu): data, a builder, and the expected codes.
export { buildCase, codesOf, type BuiltCase } from './conformance/build';
export { CONFORMANCE_CASES, type ConformanceCase, type Grid } from './conformance/cases';
export { describeWithWebGpu, webGpuUnavailable } from './webgpu';
