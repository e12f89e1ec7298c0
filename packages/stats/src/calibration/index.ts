export {
  CALIBRATION_DATA, CALIBRATION_OPTIONS,
  type CalibrationData, type CalibrationNeeds, type CalibrationOptions, type CalibrationProgress,
} from './service';
export { CALIBRATION_STATS } from './analysis';
export {
  CalibrationStats, perTensorStats,
  type CalibrationStatsInit, type CalibrationStatsJSON, type ObservedKind, type PerTensorStats, type ValueStatistics,
} from './calibration-stats';
export type { HistogramJSON, JSONNumber, TensorStatsJSON } from './json';
export {
  activationCandidates, dataDependentValues, quantizationReads, weightTargets,
  type ActivationCandidate, type ObservationOptions, type QuantizationRead, type WeightTarget,
} from './targets';
export { weightStatistics, type WeightStatsOptions } from './weights';
export { ValueCollector, mergeChannels, type ValueCollectorOptions, type ValueStatsResult } from './value-collector';
export { CalibrationRunner, DEFAULT_RUN_BYTES, type Observed } from './runner';
export { DEFAULT_MAD_TOLERANCE, planEngineStatistics, type EnginePlan } from './engine';
export { augmentForStatistics, type EngineTarget, type EngineTargetIO } from './engine-graph';
