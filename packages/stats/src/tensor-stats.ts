import { AbsDeviationCollector, type AbsDeviation, type AbsDeviationMode } from './abs-deviation';
import type { CollectorInput } from './channels';
import type { CollectorOptions, StatsCollector } from './collector';
import type { Histogram } from './histogram';
import { HistogramCollector } from './histogram-collector';
import { MomentsCollector, type Moments } from './moments';

export interface TensorStatsOptions extends CollectorOptions {
  /** Mean absolute deviation: a mode, or false to skip it (default 'auto'). */
  mad?: AbsDeviationMode | false;
  /** Histograms: bins per histogram, or false to skip them (default false). */
  histogram?: { bins?: number } | false;
  /** In-band values kept per channel by the one-pass deviation (default 4096). */
  bandCapacity?: number;
}

/** The statistics of one channel (or of the whole tensor). */
export interface ChannelStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  /** Unbiased. */
  variance: number;
  std: number;
  /** Mean absolute deviation about the mean (NaN when not collected). */
  mad: number;
  madExact: boolean;
  madErrorBound: number;
  histogram?: Histogram;
}

/** Everything collected for one tensor: arrays indexed by channel. */
export interface TensorStats extends Moments {
  readonly mad: Float64Array;
  readonly madExact: Uint8Array;
  readonly madErrorBound: Float64Array;
  readonly histograms?: readonly Histogram[];
}

/** Reads channel c of a TensorStats as one record. */
export function channelStats(s: TensorStats, c: number): ChannelStats {
  return {
    count: s.count[c], min: s.min[c], max: s.max[c], mean: s.mean[c], variance: s.variance[c], std: s.std[c],
    mad: s.mad[c], madExact: s.madExact[c] === 1, madErrorBound: s.madErrorBound[c],
    ...(s.histograms ? { histogram: s.histograms[c] } : {}),
  };
}

/**
 * All statistics of one tensor in one collector: moments always, the mean
 * absolute deviation and histograms on request. This is the unit the
 * calibration analysis keeps per observed value.
 */
export class TensorStatsCollector implements StatsCollector<TensorStats> {
  readonly axis: number | null;
  private readonly moments: MomentsCollector;
  private readonly deviation?: AbsDeviationCollector;
  private readonly histogram?: HistogramCollector;

  constructor(options: TensorStatsOptions = {}) {
    this.axis = options.axis ?? null;
    const base = { axis: this.axis, name: options.name };
    this.moments = new MomentsCollector(base);
    const mad = options.mad ?? 'auto';
    if (mad !== false) this.deviation = new AbsDeviationCollector({ ...base, mode: mad, bandCapacity: options.bandCapacity });
    if (options.histogram) this.histogram = new HistogramCollector({ ...base, bins: options.histogram.bins });
  }

  update(batch: CollectorInput): void {
    this.moments.update(batch);
    this.deviation?.update(batch);
    this.histogram?.update(batch);
  }

  get needsSecondPass(): boolean {
    return this.deviation?.needsSecondPass ?? false;
  }

  updateSecondPass(batch: CollectorInput): void {
    this.deviation?.updateSecondPass(batch);
  }

  result(): TensorStats {
    const m = this.moments.result();
    const d: AbsDeviation | undefined = this.deviation?.result();
    const h = this.histogram?.result();
    return {
      ...m,
      mad: d ? d.mad : new Float64Array(m.channels).fill(NaN),
      madExact: d ? d.exact : new Uint8Array(m.channels),
      madErrorBound: d ? d.errorBound : new Float64Array(m.channels).fill(Infinity),
      ...(h ? { histograms: h.histograms } : {}),
    };
  }
}
