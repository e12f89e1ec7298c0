export {
  asStatsInput, splitAtAxis, normalizeAxis,
  type StatsData, type StatsInput, type CollectorInput, type ChannelSplit,
} from './channels';
export type { StatsCollector, CollectorOptions } from './collector';
export { MomentsCollector, runMoments, type Moments, type RunMoments } from './moments';
export {
  AbsDeviationCollector, type AbsDeviation, type AbsDeviationMode, type AbsDeviationOptions,
} from './abs-deviation';
export { BandedAbsDeviation, DEFAULT_BAND_CAPACITY, type AbsDeviationEstimate } from './abs-deviation-band';
export { Histogram, pow2AtLeast } from './histogram';
export { HistogramCollector, DEFAULT_HISTOGRAM_BINS, type HistogramOptions, type Histograms } from './histogram-collector';
export {
  TensorStatsCollector, channelStats, type TensorStats, type TensorStatsOptions, type ChannelStats,
} from './tensor-stats';
export { collectTensorStats, type TensorStream, type CollectResult } from './collect';
export * from './calibration';
