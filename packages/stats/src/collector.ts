import type { CollectorInput } from './channels';

/**
 * A streaming statistic: it sees one batch at a time and keeps only bounded
 * state, never the activations themselves. Every collector works per tensor
 * (axis null) or per channel along one axis, and accumulates in float64.
 *
 * Some statistics are exact only with a second look at the same data (the mean
 * absolute deviation about a mean that is known only at the end). The caller
 * (the calibration analysis) drives that: after the first pass over the
 * dataset it asks `needsSecondPass`, and if true feeds the same batches, in
 * any order, to `updateSecondPass` before calling `result()`.
 */
export interface StatsCollector<R> {
  /** Adds one batch to the first pass. */
  update(batch: CollectorInput): void;
  /** True when `result()` would be exact only after a second pass over the same data. */
  readonly needsSecondPass: boolean;
  /** Adds one batch to the second pass; a no-op for collectors that never need one. */
  updateSecondPass(batch: CollectorInput): void;
  /** The statistics so far (a snapshot; the collector can keep streaming). */
  result(): R;
}

/** Options shared by every collector. */
export interface CollectorOptions {
  /** Channel axis (negative counts from the end), or null for one set of statistics per tensor. */
  axis?: number | null;
  /** Name of the tensor, used in error messages. */
  name?: string;
}
