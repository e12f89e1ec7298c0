export type { StatsCollector } from './collector';
export { MomentsCollector } from './moments';
export { AbsDeviationCollector } from './abs-deviation';
export { Histogram } from './histogram';
export { HistogramCollector } from './histogram-collector';
export { TensorStatsCollector, type TensorStats } from './tensor-stats';
export {
  activationCandidates, weightStatistics, CalibrationStats, ValueCollector,
  CALIBRATION_DATA, CALIBRATION_OPTIONS, CALIBRATION_STATS, DEFAULT_RUN_BYTES,
  type ActivationCandidate, type CalibrationData, type CalibrationNeeds, type CalibrationOptions, type CalibrationProgress, type ValueStatistics,
} from './calibration';
export { calibratedStatistics, constantStatistics, valueStatistics, type ValueStatisticsRequest } from './value-statistics';
