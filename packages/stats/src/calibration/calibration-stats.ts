import { NibbleError } from '@nibble/ir';
import { channelStats, type ChannelStats, type TensorStats } from '../tensor-stats';
import { decodeTensorStats, encodeTensorStats, type TensorStatsJSON } from './json';

/** One set of statistics over the whole tensor (ChannelStats plus the population variance). */
export interface PerTensorStats extends ChannelStats {
  /** sum (x - mean)^2 / n. */
  populationVariance: number;
}

/** Channel c of a TensorStats as one record (per-tensor statistics are channel 0 of an axis-null collector). */
export function perTensorStats(s: TensorStats, c = 0): PerTensorStats {
  return { ...channelStats(s, c), populationVariance: s.populationVariance[c] };
}

/** What a statistic was taken of. */
export type ObservedKind = 'input' | 'activation' | 'weight';

/** The statistics of one value: per tensor, and per channel along `axis`. */
export interface ValueStatistics {
  readonly name: string;
  readonly kind: ObservedKind;
  /**
   * Activations: the shape of one sample as first observed (batch axis
   * dropped); weights: the tensor's shape.
   */
  readonly shape: readonly number[];
  /** The channel axis of `perChannel` in the full tensor (1 for activations), or null when per tensor only. */
  readonly axis: number | null;
  readonly perTensor: PerTensorStats;
  /** Arrays by channel; undefined when per-channel statistics were not collected. */
  readonly perChannel?: TensorStats;
}

export interface CalibrationStatsInit {
  samples: number;
  passes: 1 | 2;
  data?: string;
  activations: readonly ValueStatistics[];
  weights: readonly ValueStatistics[];
}

/** The stats file's identification; `version` changes when the layout does. */
const FORMAT = 'nibble-calibration-stats';
const VERSION = 1;

interface ValueJSON {
  name: string;
  kind: ObservedKind;
  shape: number[];
  axis: number | null;
  perTensor: TensorStatsJSON;
  perChannel?: TensorStatsJSON;
}

export interface CalibrationStatsJSON {
  format: typeof FORMAT;
  version: number;
  samples: number;
  passes: 1 | 2;
  data?: string;
  activations: ValueJSON[];
  weights: ValueJSON[];
}

function missing(name: string, what: string, known: readonly string[]): NibbleError {
  const some = known.slice(0, 8).join(', ') + (known.length > 8 ? ', ...' : '');
  return new NibbleError('E_BAD_OPTION', `no calibration statistics of ${what} '${name}'`, {
    value: name,
    hint: known.length ? `statistics exist for: ${some}` : `the calibration observed no ${what}s`,
  });
}

/**
 * What the calibration analysis found: statistics of activations (and the
 * float inputs) over the calibration samples, and of the constant weights.
 * Activations and weights are kept apart since a name is one or the other.
 */
export class CalibrationStats {
  /** Samples the activations were computed over. */
  readonly samples: number;
  /** Passes made over the data (2 when an exact mean absolute deviation needed a second look). */
  readonly passes: 1 | 2;
  /** The data's description, e.g. 'fashion-mnist:calib'. */
  readonly data?: string;
  private readonly acts: ReadonlyMap<string, ValueStatistics>;
  private readonly wts: ReadonlyMap<string, ValueStatistics>;

  constructor(init: CalibrationStatsInit) {
    this.samples = init.samples;
    this.passes = init.passes;
    if (init.data !== undefined) this.data = init.data;
    this.acts = new Map(init.activations.map((v) => [v.name, v]));
    this.wts = new Map(init.weights.map((v) => [v.name, v]));
  }

  /** Names of the observed activations (and inputs), in graph order. */
  activationNames(): string[] {
    return [...this.acts.keys()];
  }

  weightNames(): string[] {
    return [...this.wts.keys()];
  }

  has(name: string): boolean {
    return this.acts.has(name);
  }

  hasWeights(name: string): boolean {
    return this.wts.has(name);
  }

  /** The statistics of an activation or graph input; E_BAD_OPTION naming it when it was not observed. */
  get(name: string): ValueStatistics {
    const v = this.acts.get(name);
    if (!v) throw missing(name, 'activation', this.activationNames());
    return v;
  }

  /** The statistics of a constant weight, per output channel. */
  weights(name: string): ValueStatistics {
    const v = this.wts.get(name);
    if (!v) throw missing(name, 'weight', this.weightNames());
    return v;
  }

  /**
   * Plain JSON (numbers; NaN and infinities as strings, so nothing is lost):
   * what `nibble calibrate --out` writes. Same statistics, same text.
   */
  toJSON(): CalibrationStatsJSON {
    const enc = (v: ValueStatistics): ValueJSON => ({
      name: v.name, kind: v.kind, shape: [...v.shape], axis: v.axis,
      perTensor: encodeTensorStats(toTensorStats(v.perTensor)),
      ...(v.perChannel ? { perChannel: encodeTensorStats(v.perChannel) } : {}),
    });
    return {
      format: FORMAT, version: VERSION, samples: this.samples, passes: this.passes,
      ...(this.data === undefined ? {} : { data: this.data }),
      activations: [...this.acts.values()].map(enc),
      weights: [...this.wts.values()].map(enc),
    };
  }

  /** Reads what toJSON wrote (e.g. a stats file); E_FILE_FORMAT on anything else. */
  static fromJSON(json: unknown, where = 'calibration statistics'): CalibrationStats {
    const j = json as Partial<CalibrationStatsJSON> | null;
    if (!j || typeof j !== 'object' || j.format !== FORMAT) {
      throw new NibbleError('E_FILE_FORMAT', `${where}: not a nibble calibration statistics file`, {
        hint: 'give a file written by nibble calibrate --out',
      });
    }
    if (j.version !== VERSION) {
      throw new NibbleError('E_FILE_FORMAT', `${where}: statistics format version ${String(j.version)}, this nibble reads ${VERSION}`, {
        hint: 'recompute the statistics with this version (nibble calibrate)',
      });
    }
    const dec = (v: ValueJSON): ValueStatistics => {
      const perTensor = perTensorStats(decodeTensorStats(v.perTensor, `${where}: '${v.name}'`));
      return {
        name: v.name, kind: v.kind, shape: v.shape, axis: v.axis, perTensor,
        ...(v.perChannel ? { perChannel: decodeTensorStats(v.perChannel, `${where}: '${v.name}'`) } : {}),
      };
    };
    if (!Array.isArray(j.activations) || !Array.isArray(j.weights) || typeof j.samples !== 'number') {
      throw new NibbleError('E_FILE_FORMAT', `${where}: the file lacks samples, activations or weights`, {
        hint: 'give a complete file written by nibble calibrate --out',
      });
    }
    return new CalibrationStats({
      samples: j.samples, passes: j.passes === 2 ? 2 : 1, data: j.data,
      activations: j.activations.map(dec), weights: j.weights.map(dec),
    });
  }
}

/** One channel's record as a one-channel TensorStats (the JSON has one layout for both). */
function toTensorStats(s: PerTensorStats): TensorStats {
  const one = (x: number) => Float64Array.of(x);
  return {
    axis: null, channels: 1, count: one(s.count), min: one(s.min), max: one(s.max), mean: one(s.mean),
    variance: one(s.variance), std: one(s.std), populationVariance: one(s.populationVariance),
    mad: one(s.mad), madExact: Uint8Array.of(s.madExact ? 1 : 0), madErrorBound: one(s.madErrorBound),
    ...(s.histogram ? { histograms: [s.histogram] } : {}),
  };
}
