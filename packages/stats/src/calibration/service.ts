import { defineService } from '@nibble/core';
import type { Tensor } from '@nibble/ir';
import type { AbsDeviationMode } from '../abs-deviation';

/**
 * Where calibration inputs come from, as the analysis sees them: batches of
 * model inputs by input name. Stats may not import @nibble/data, so this is
 * the whole contract; the public API adapts a Dataset to it.
 */
export interface CalibrationData {
  /** Samples the batches hold in all (for progress; the analysis counts what it sees). */
  readonly samples: number;
  /** What the data is (e.g. 'fashion-mnist:calib'), for messages and the stats file. */
  readonly description?: string;
  /**
   * The batches, each `{ inputName: tensor [N, ...] }`. Every call must yield
   * the same batches: a second pass over the data (an exact mean absolute
   * deviation) calls it again.
   */
  batches(): AsyncIterable<Readonly<Record<string, Tensor>>>;
}

export const CALIBRATION_DATA = defineService<CalibrationData>('calibration-data', {
  hint: 'give calibration data to the pass context (nibble calibrate --data <spec>, or calibrate(model, { data }) in the API)',
});

/** Where calibration stands, for progress bars. */
export interface CalibrationProgress {
  /** 1, or 2 while a second pass makes the mean absolute deviations exact. */
  pass: 1 | 2;
  samplesDone: number;
  samplesTotal: number;
}

/**
 * What the passes of a pipeline read of the calibration statistics beyond
 * the moments (min, max, mean, deviations) every reader gets. Passes declare
 * it (`requires: [requirement(CALIBRATION_STATS, { histograms: true })]`),
 * the pass manager takes the union over the pipeline, and the analysis
 * collects exactly that: histograms cost memory and a slower path, layer
 * inputs a fetch of every layer's input.
 */
export interface CalibrationNeeds {
  /** Histograms of the activations (percentile, KL and MSE clipping, ACIQ's dist=auto). */
  histograms?: boolean;
  /** Per-channel means of the marked layers' data inputs (bias-correct{fold=bias}). */
  layerInputs?: boolean;
}

/** How the calibration analysis observes the model; every field is optional. */
export interface CalibrationOptions {
  /**
   * The activations to observe, in place of the default choice: once
   * quant-policy has marked quantization points, the marked activations and
   * the data inputs of the layers whose weights are marked (what the
   * quantization passes read); without marks, every float node output of
   * rank >= 2 that depends on the inputs, and the float inputs.
   */
  values?: readonly string[];
  /**
   * With quantization points marked, also observe the data inputs of the
   * marked layers, for their per-channel means (only bias-correct{fold=bias}
   * reads them). Default: what the pipeline's passes declared
   * (CalibrationNeeds), or true when the analysis runs outside a pipeline.
   */
  layerInputs?: boolean;
  /** Statistics per channel along axis 1 besides per tensor (default true). */
  perChannel?: boolean;
  /**
   * Histograms (e.g. for percentile, KL or MSE clipping): bins per histogram,
   * or false. Default: default bins when the pipeline's passes declared
   * they read histograms (CalibrationNeeds), else none.
   */
  histogram?: { bins?: number } | false;
  /**
   * Mean absolute deviation of the activations (default 'two-pass': exact, a
   * second run over the data, memory independent of the sample count; 'auto'
   * often saves the second run but keeps O(sqrt n) values per channel, and
   * false skips it). See docs/benchmarks.md.
   */
  mad?: AbsDeviationMode | false;
  /**
   * Bytes of activations one executor run may fetch (default 16 MiB): the
   * data's batches are cut into runs of as many samples as fit.
   */
  runBytes?: number;
  /**
   * Take the moment statistics inside the engine (default true): reductions
   * added to the graph, so that only per-channel sums leave it. Used when
   * the statistics allow it (no histograms, mad 'two-pass' or false, static
   * shapes after the batch axis); false always fetches the activations.
   */
  engine?: boolean;
  /**
   * Engine path: a value's one-pass mean absolute deviation is kept when its
   * proven error bound is at most this fraction of the deviation, on every
   * channel and per tensor; otherwise a second pass about the final means
   * makes it exact (default 1e-6: in practice exact). See README.md.
   */
  madTolerance?: number;
  /** Statistics of constant weights (default true). */
  weights?: boolean;
  /** Called after each batch. */
  onProgress?: (progress: CalibrationProgress) => void;
}

/**
 * Optional settings of the calibration analysis. Analyses take no options of
 * their own, so the caller sets them beside the data; they are read when the
 * statistics are computed (changing them later does not invalidate a cached result).
 */
export const CALIBRATION_OPTIONS = defineService<CalibrationOptions>('calibration-options');
