import { NibbleError } from '@nibble/ir';
import { BandedAbsDeviation, DEFAULT_BAND_CAPACITY } from './abs-deviation-band';
import {
  asStatsInput, ChannelGather, checkChannels, describeWhere, nonFinite, splitAtAxis, type CollectorInput,
} from './channels';
import type { CollectorOptions, StatsCollector } from './collector';

/**
 * How the mean absolute deviation is computed:
 * - 'auto' (default): one pass with the banded method; `needsSecondPass` turns
 *   true only if the final mean left the band, so that a second pass makes it exact.
 * - 'one-pass': never asks for a second pass; an inexact result carries its error bound.
 * - 'two-pass': the first pass only finds the mean; the second computes sum |x - mu| exactly.
 */
export type AbsDeviationMode = 'auto' | 'one-pass' | 'two-pass';

export interface AbsDeviationOptions extends CollectorOptions {
  mode?: AbsDeviationMode;
  /** In-band values kept per channel before the band narrows (default 4096). */
  bandCapacity?: number;
}

/** Mean absolute deviation about the mean (ACIQ's Laplace b estimator), one entry per channel. */
export interface AbsDeviation {
  readonly axis: number | null;
  readonly channels: number;
  readonly count: Float64Array;
  /** The mean each deviation is taken about. */
  readonly mean: Float64Array;
  /** sum |x - mean| / n. */
  readonly mad: Float64Array;
  /** 1 where `mad` is exact up to float64 rounding. */
  readonly exact: Uint8Array;
  /** Bound on the error of `mad` where it is not exact (0 where exact). */
  readonly errorBound: Float64Array;
}

export class AbsDeviationCollector implements StatsCollector<AbsDeviation> {
  readonly axis: number | null;
  readonly mode: AbsDeviationMode;
  private readonly where: string;
  private readonly capacity: number;
  private readonly gather = new ChannelGather();
  private state: BandedAbsDeviation[] = [];
  private channels: number | undefined;
  private secondStarted = false;

  constructor(options: AbsDeviationOptions = {}) {
    this.axis = options.axis ?? null;
    this.mode = options.mode ?? 'auto';
    this.capacity = options.bandCapacity ?? DEFAULT_BAND_CAPACITY;
    this.where = describeWhere(options.name);
    if (!['auto', 'one-pass', 'two-pass'].includes(this.mode)) {
      throw new NibbleError('E_BAD_OPTION', `${this.where}: unknown mean-absolute-deviation mode '${this.mode}'`, {
        option: 'mode', hint: "use 'auto', 'one-pass' or 'two-pass'",
      });
    }
  }

  update(batch: CollectorInput): void {
    if (this.secondStarted) {
      throw new NibbleError('E_INTERNAL', `${this.where}: update() after the second pass began`, {
        hint: 'feed every first-pass batch before updateSecondPass()',
      });
    }
    const input = asStatsInput(batch, this.where);
    const split = splitAtAxis(input.shape, this.axis, this.where);
    checkChannels(split, this.channels, this.where, this.axis);
    if (this.channels === undefined) {
      this.channels = split.channels;
      const banded = this.mode !== 'two-pass';
      this.state = Array.from({ length: split.channels }, () => new BandedAbsDeviation(banded, this.capacity));
    }
    if (split.outer * split.inner === 0) return;
    for (let c = 0; c < split.channels; c++) {
      if (!this.state[c].add(this.gather.channel(input, split, c))) throw nonFinite(this.where, this.axis === null ? null : c);
    }
  }

  get needsSecondPass(): boolean {
    if (this.mode === 'one-pass' || this.complete()) return false;
    if (this.mode === 'two-pass') return this.state.some((s) => s.count > 0);
    return this.state.some((s) => !s.oneShotExact);
  }

  updateSecondPass(batch: CollectorInput): void {
    const input = asStatsInput(batch, this.where);
    const split = splitAtAxis(input.shape, this.axis, this.where);
    checkChannels(split, this.channels ?? split.channels, this.where, this.axis);
    if (this.channels === undefined) {
      throw new NibbleError('E_INTERNAL', `${this.where}: second pass before any first-pass batch`);
    }
    if (!this.secondStarted) {
      for (const s of this.state) s.beginSecondPass();
      this.secondStarted = true;
    }
    if (split.outer * split.inner === 0) return;
    for (let c = 0; c < split.channels; c++) this.state[c].addSecond(this.gather.channel(input, split, c));
  }

  result(): AbsDeviation {
    const channels = this.channels ?? 0;
    const out = {
      axis: this.axis, channels,
      count: new Float64Array(channels), mean: new Float64Array(channels), mad: new Float64Array(channels),
      exact: new Uint8Array(channels), errorBound: new Float64Array(channels),
    };
    for (let c = 0; c < channels; c++) {
      const s = this.state[c];
      if (this.secondStarted && s.secondPassCount !== s.count) {
        throw new NibbleError('E_DATA', `${this.where}: the second pass saw ${s.secondPassCount} values, the first ${s.count}`, {
          hint: 'feed the second pass exactly the batches of the first (same dataset, same seed and limit)',
        });
      }
      const e = s.estimate();
      out.count[c] = e.count;
      out.mean[c] = e.mean;
      out.mad[c] = e.mad;
      out.exact[c] = e.exact ? 1 : 0;
      out.errorBound[c] = e.errorBound;
    }
    return out;
  }

  /** Values held in memory across all channels (for tests and memory reports). */
  get heldValues(): number {
    return this.state.reduce((n, s) => n + s.heldValues, 0);
  }

  private complete(): boolean {
    return this.secondStarted && this.state.every((s) => s.secondPassCount === s.count);
  }
}
