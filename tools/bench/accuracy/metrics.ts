/*
 * What one quantized model's logits say against the float32 model's on the
 * same test images, and how per-seed figures are summarised. Everything is
 * accumulated in float64; logits are [n, classes] row-major.
 */

export interface LogitComparison {
  /** Test samples compared. */
  n: number;
  /** Samples whose quantized argmax equals the float32 argmax. */
  agree: number;
  /** sum |y|^2 and sum |y - y_q|^2 over every sample and class. */
  signal: number;
  noise: number;
  /** 10 log10(signal / noise); Infinity when the logits are identical. */
  sqnrDb: number;
}

/** Index of the largest value of row `r`; the first on ties, as evaluate's top-1 does. */
export function argmaxRow(logits: ArrayLike<number>, classes: number, r: number): number {
  const base = r * classes;
  let best = 0;
  for (let c = 1; c < classes; c++) if (logits[base + c] > logits[base + best]) best = c;
  return best;
}

export function sqnrDb(signal: number, noise: number): number {
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

/** Top-1 agreement and logit SQNR of `quant` against `reference` (both [n, classes]). */
export function compareLogits(reference: ArrayLike<number>, quant: ArrayLike<number>, classes: number): LogitComparison {
  if (!Number.isInteger(classes) || classes < 1 || reference.length !== quant.length || reference.length % classes !== 0) {
    throw new Error(`logits to compare must be rows of ${classes} classes of equal length (got ${reference.length} and ${quant.length} values)`);
  }
  const n = reference.length / classes;
  let agree = 0;
  let signal = 0;
  let noise = 0;
  for (let r = 0; r < n; r++) {
    if (argmaxRow(reference, classes, r) === argmaxRow(quant, classes, r)) agree++;
  }
  for (let i = 0; i < reference.length; i++) {
    const y = reference[i];
    const d = y - quant[i];
    signal += y * y;
    noise += d * d;
  }
  return { n, agree, signal, noise, sqnrDb: sqnrDb(signal, noise) };
}

export interface MeanStd {
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); null for fewer than two values. */
  std: number | null;
  n: number;
}

/**
 * Mean and sample standard deviation. An infinite value (an SQNR of
 * identical logits) makes the mean infinite and the spread unknown.
 */
export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: null, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (!Number.isFinite(mean)) return { mean, std: null, n };
  if (n < 2) return { mean, std: null, n };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}

/** Mean and spread of a - b over paired values (same seed, so the same calibration images). */
export function pairedDifference(a: readonly number[], b: readonly number[]): MeanStd {
  if (a.length !== b.length) throw new Error(`paired values need equal counts (got ${a.length} and ${b.length})`);
  return meanStd(a.map((v, i) => v - b[i]));
}

/**
 * Fraction of the baseline's loss against float32 that a method wins back:
 * (method - baseline) / (float - baseline). Null when the baseline loses
 * nothing (no gap to recover).
 */
export function gapRecovered(float: number, baseline: number, method: number): number | null {
  const gap = float - baseline;
  return gap > 0 ? (method - baseline) / gap : null;
}
