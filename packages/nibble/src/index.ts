export { isNibbleError, NibbleError, printGraph } from '@nibble/ir';
// The pass registry, for listings and help (`nibble passes`); importing this package registers every pass.
export { describePass, getPass, listPasses, optionTextName, type AnyPass, type OptionDecl } from '@nibble/core';
export { type CalibrationProgress } from '@nibble/stats';
export { loadModel, saveModel } from './load';
export { inspectModel } from './inspect';
export { specializeInputShapes, withInputShapes } from './input-shapes';
export { defaultModelPath, workspaceRoot, DEFAULTS } from './defaults';
export { calibrate, datasetCalibrationData, writeCalibrationStats } from './calibrate';
export { checkOutputPath, dataFiles, type OutputCheck } from './outputs';
export { batchForModel, checkHistogramMemory, fixedBatchOf, memoryLimitBytes, DEFAULT_MEMORY_LIMIT } from './guards';
export { choosePreprocess, describePreprocess, MODEL_PREPROCESS_KEY, type PreprocessChoice } from './datasets';
export { renderReportHtml, reportData, writeQuantizeReport } from './report/write';
export { ensurePassesRegistered, recipesInOrder, RECIPE_NAMES } from './recipes';
export {
  checkPlanQuantizes, quantize, resolvePipelineChoice, saveQuantized, type QuantizeProgress, type QuantizeReport, type QuantizeResult,
} from './quantize';
export { checkQuantizedOutput, describePlan, planQuantization, type PlanChoice, type QuantizePlan } from './plan';
export { evaluate } from './evaluate';
export { argmax, compareLogits, klDivergence, logSoftmax, sqnrDb, type Agreement } from './agreement';
export { DEFAULT_TARGET, getTarget, listTargets, type Target } from './targets';
export { mainJobOutputs, runMainJob, type MainJobRow } from './main-job';
export { createWasmExecutor } from '@nibble/backend-wasm';
