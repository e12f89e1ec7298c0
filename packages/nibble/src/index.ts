export { isNibbleError, NibbleError, printGraph, Tensor, type Graph, type Node, type Value } from '@nibble/ir';
// The pass registry, for listings and help (`nibble passes`); importing this package registers every pass.
export { describePass, getPass, listPasses, optionTextName, type AnyPass, type OptionDecl } from '@nibble/core';
// Passes from outside (plugins.ts): a plugin defines passes with definePass; loadPlugin registers them.
export { definePass, hasPass, registerPass, requirement, type Pass, type PassResult } from '@nibble/core';
export { loadPlugin, loadPlugins, PluginError, registerPlugin, type LoadedPlugin, type PluginFailure } from './plugins';
export { DEVICE_PROFILES, getDevice, listDevices, type DeviceProfile } from './devices';
export { fitModel, modelFootprint, type FitReport, type Footprint, type LayerWeights, type RecipeFit } from './fit';
export { type CalibrationProgress } from '@nibble/stats';
export { loadModel, saveModel } from './load';
export { inspectModel } from './inspect';
export { inspectTflite, isQuantizedTflite, type TfliteReport } from './inspect-tflite';
export { specializeInputShapes, withInputShapes } from './input-shapes';
export { defaultModelPath, workspaceRoot, DEFAULTS } from './defaults';
export { calibrate, datasetCalibrationData, writeCalibrationStats } from './calibrate';
export { checkOutputPath, dataFiles, type OutputCheck } from './outputs';
// Replace a file whole or not at all (a temporary file beside it, then a rename): what nibble's own writers do.
export { writeFileAtomic } from '@nibble/data';
export { batchForModel, checkHistogramMemory, fixedBatchOf, memoryLimitBytes, DEFAULT_MEMORY_LIMIT } from './guards';
export { choosePreprocess, describePreprocess, MODEL_PREPROCESS_KEY, type PreprocessChoice } from './datasets';
export { renderReportHtml, reportData, writeQuantizeReport } from './report/write';
export { ensurePassesRegistered, recipesInOrder, RECIPE_NAMES } from './recipes';
export {
  checkPlanQuantizes, checkSavePath, quantize, resolvePipelineChoice, saveQuantized, type QuantizeProgress, type QuantizeReport, type QuantizeResult,
} from './quantize';
export { checkQuantizedOutput, describePlan, planQuantization, type PlanChoice, type QuantizePlan } from './plan';
export { evaluate } from './evaluate';
export { argmax, compareLogits, klDivergence, logSoftmax, sqnrDb, type Agreement } from './agreement';
export { DEFAULT_TARGET, getTarget, listTargets, type Target } from './targets';
export { createTfliteExecutor, TFLITE_RUNTIME_INSTALL, tfliteForEvaluation } from './tflite-runtime';
export { mainJobOutputs, runMainJob, type MainJobReport, type MainJobRow } from './main-job';
export { createWasmExecutor } from '@nibble/backend-wasm';
export { createWebGpuExecutor, requestWebGpu, type WebGpuContext, webGpuUnavailableReason } from '@nibble/backend-webgpu';
export { benchmark, BENCH_BACKENDS, INT8_QDQ_PIPELINE, tfjsWasmRunner, timeRoundRobin, type BenchBackend, type BenchOptions, type BenchResult, type BenchRow, type Timing } from './bench';
// Models and data from memory rather than files, and onnxruntime-web: what a browser page needs (apps/edge-demo).
export { type Model } from '@nibble/ir';
export { readOnnx, lowerToQdq } from '@nibble/onnx';
export { datasetFromArrays, decodeImage, type Dataset } from '@nibble/data';
export { readTfjsModel } from '@nibble/tfjs';
export { createOrtExecutor, type OrtBackend } from '@nibble/runtime';
export { levelEntropy, shannonBits } from './report/entropy';
export { codeEntropyOf, type CodeEntropy, type TensorCodeEntropy } from './report/code-entropy';
