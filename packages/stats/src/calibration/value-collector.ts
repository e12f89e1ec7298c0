import { NibbleError } from '@nibble/ir';
import { AbsDeviationCollector, type AbsDeviation, type AbsDeviationMode } from '../abs-deviation';
import { asStatsInput, checkChannels, describeWhere, splitAtAxis, type CollectorInput } from '../channels';
import { Histogram } from '../histogram';
import { HistogramCollector } from '../histogram-collector';
import { MomentsCollector, type Moments } from '../moments';
import type { TensorStats } from '../tensor-stats';

export interface ValueCollectorOptions {
  name: string;
  /** Also per channel along axis 1. */
  perChannel: boolean;
  mad: AbsDeviationMode | false;
  histogram: { bins?: number } | false;
}

/** One value's statistics: the whole tensor as one channel, and per channel when asked. */
export interface ValueStatsResult {
  perTensor: TensorStats;
  perChannel?: TensorStats;
}

/**
 * Per-tensor and per-channel statistics of one activation, for calibration,
 * with the least work per value: moments are collected per channel only and
 * merged into the per-tensor ones (exact formula, no second stream), and the
 * two-pass mean absolute deviation sums |x - channel mean| and |x - tensor
 * mean| in one sweep of the second pass. The banded ('auto', 'one-pass')
 * deviations use the package's collectors on both levels; histograms are
 * collected per channel only when there are channels, and the per-tensor
 * one is their exact merge (Histogram.merge: the grids are powers of two
 * anchored at zero, so no count moves across a bin edge) — a second
 * histogram stream over every value was a third of the histogram recipes'
 * collection time on nsfwjs's MobileNetV2.
 */
export class ValueCollector {
  private readonly where: string;
  private readonly axis: 1 | null;
  private readonly moments: MomentsCollector;
  private readonly banded: { tensor: AbsDeviationCollector; channel?: AbsDeviationCollector } | undefined;
  private readonly histograms: HistogramCollector | undefined;
  private readonly twoPass: boolean;
  private second: { channelMean: Float64Array; tensorMean: number; absChannel: Float64Array; absTensor: number; seen: Float64Array } | undefined;

  constructor(options: ValueCollectorOptions) {
    this.where = describeWhere(options.name);
    this.axis = options.perChannel ? 1 : null;
    this.moments = new MomentsCollector({ axis: this.axis, name: options.name });
    this.twoPass = options.mad === 'two-pass';
    if (options.mad !== false && !this.twoPass) {
      const make = (axis: number | null) => new AbsDeviationCollector({ axis, name: options.name, mode: options.mad as AbsDeviationMode });
      this.banded = { tensor: make(null), ...(options.perChannel ? { channel: make(1) } : {}) };
    }
    if (options.histogram) {
      this.histograms = new HistogramCollector({ axis: this.axis, name: options.name, bins: options.histogram.bins });
    }
  }

  update(batch: CollectorInput): void {
    this.moments.update(batch);
    this.banded?.tensor.update(batch);
    this.banded?.channel?.update(batch);
    this.histograms?.update(batch);
  }

  get needsSecondPass(): boolean {
    if (this.twoPass) return this.second === undefined && this.count() > 0;
    return (this.banded?.tensor.needsSecondPass || this.banded?.channel?.needsSecondPass) ?? false;
  }

  updateSecondPass(batch: CollectorInput): void {
    if (!this.twoPass) {
      this.banded?.tensor.updateSecondPass(batch);
      this.banded?.channel?.updateSecondPass(batch);
      return;
    }
    const input = asStatsInput(batch, this.where);
    const { outer, channels, inner } = splitAtAxis(input.shape, this.axis, this.where);
    const s = (this.second ??= this.beginSecondPass());
    checkChannels({ outer, channels, inner }, s.channelMean.length, this.where, this.axis);
    const data = input.data;
    const mt = s.tensorMean;
    let absTensor = 0;
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++) {
        const base = (o * channels + c) * inner;
        const mc = s.channelMean[c];
        let a = 0;
        let b = 0;
        for (let i = base; i < base + inner; i++) {
          const x = data[i];
          a += Math.abs(x - mc);
          b += Math.abs(x - mt);
        }
        s.absChannel[c] += a;
        absTensor += b;
      }
    }
    s.absTensor += absTensor;
    for (let c = 0; c < channels; c++) s.seen[c] += outer * inner;
  }

  result(): ValueStatsResult {
    const m = this.moments.result();
    const whole = this.axis === null ? m : mergeChannels(m);
    const tensorDeviation = this.deviation(whole, 'tensor');
    const histograms = this.histograms?.result().histograms;
    const tensorHistograms = histograms === undefined ? undefined : this.axis === null ? histograms : [Histogram.merge(histograms, this.histograms!.bins)];
    const perTensor = { ...whole, ...tensorDeviation, ...(tensorHistograms ? { histograms: tensorHistograms } : {}) };
    if (this.axis === null) return { perTensor };
    const perChannel = { ...m, ...this.deviation(m, 'channel'), ...(histograms ? { histograms } : {}) };
    return { perTensor, perChannel };
  }

  private count(): number {
    return this.moments.result().count.reduce((a, b) => a + b, 0);
  }

  private beginSecondPass(): NonNullable<ValueCollector['second']> {
    const m = this.moments.result();
    const C = m.channels;
    return {
      channelMean: m.mean.slice(), tensorMean: (this.axis === null ? m : mergeChannels(m)).mean[0],
      absChannel: new Float64Array(C), absTensor: 0, seen: new Float64Array(C),
    };
  }

  private deviation(m: Moments, level: 'tensor' | 'channel'): Pick<TensorStats, 'mad' | 'madExact' | 'madErrorBound'> {
    const C = m.channels;
    if (this.twoPass && this.second) {
      const s = this.second;
      const counts = this.moments.result().count;
      for (let c = 0; c < s.seen.length; c++) {
        if (s.seen[c] !== counts[c]) {
          throw new NibbleError('E_DATA', `${this.where}: the second pass saw ${s.seen[c]} values, the first ${counts[c]}`, {
            hint: 'feed the second pass exactly the batches of the first (same dataset, same seed and limit)',
          });
        }
      }
      const abs = level === 'channel' || this.axis === null ? s.absChannel : Float64Array.of(s.absTensor);
      return { mad: Float64Array.from(abs, (a, c) => a / m.count[c]), madExact: new Uint8Array(C).fill(1), madErrorBound: new Float64Array(C) };
    }
    const collector = level === 'tensor' ? this.banded?.tensor : this.banded?.channel;
    if (!collector) return { mad: new Float64Array(C).fill(NaN), madExact: new Uint8Array(C), madErrorBound: new Float64Array(C).fill(Infinity) };
    const d: AbsDeviation = collector.result();
    return { mad: d.mad, madExact: d.exact, madErrorBound: d.errorBound };
  }
}

/**
 * Per-channel moments to one set over the whole tensor, with the exact
 * decomposition M2 = sum_c (M2_c + n_c (mean_c - mean)^2), which keeps the
 * accuracy of the per-channel sums (no cancellation when |mean| >> std).
 */
export function mergeChannels(m: Moments): Moments {
  let n = 0;
  let sum = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let c = 0; c < m.channels; c++) {
    if (m.count[c] === 0) continue;
    n += m.count[c];
    sum += m.count[c] * m.mean[c];
    lo = Math.min(lo, m.min[c]);
    hi = Math.max(hi, m.max[c]);
  }
  let mean = sum / n;
  // One correction step: the weighted residual of the channel means about the first estimate.
  let r = 0;
  for (let c = 0; c < m.channels; c++) if (m.count[c] > 0) r += m.count[c] * (m.mean[c] - mean);
  mean += r / n;
  let m2 = 0;
  for (let c = 0; c < m.channels; c++) {
    if (m.count[c] === 0) continue;
    const d = m.mean[c] - mean;
    m2 += m.populationVariance[c] * m.count[c] + m.count[c] * d * d;
  }
  const one = (x: number) => Float64Array.of(x);
  const variance = n > 1 ? m2 / (n - 1) : n === 1 ? 0 : NaN;
  return {
    axis: null, channels: 1, count: one(n),
    min: one(n > 0 ? lo : NaN), max: one(n > 0 ? hi : NaN), mean: one(n > 0 ? mean : NaN),
    variance: one(variance), std: one(Math.sqrt(variance)), populationVariance: one(n > 0 ? m2 / n : NaN),
  };
}
