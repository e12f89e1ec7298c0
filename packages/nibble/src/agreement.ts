import { NibbleError } from '@nibble/ir';

/*
 * How close a quantized classifier stays to its float original on the same
 * inputs, without labels: top-1 agreement, KL divergence of the class
 * distributions, and signal-to-quantization-noise ratios. Inputs are logits
 * [n, classes] row-major; everything is computed in float64.
 */

export interface Agreement {
  n: number;
  /** Samples whose quantized argmax equals the float argmax. */
  agree: number;
  /** Mean and largest KL(p_float || p_quant) per sample, in nats. */
  meanKl: number;
  maxKl: number;
  /** 10 log10(sum x^2 / sum (x - x_q)^2) over all samples and classes, for logits and for probabilities (Infinity when equal). */
  sqnrLogitsDb: number;
  sqnrProbsDb: number;
  /** Indices of the samples that disagree. */
  disagreements: number[];
}

/** log softmax of one row, stable for any logits (the largest is subtracted first). */
export function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - lse);
}

/** Index of the largest value; the first on ties (as evaluate's argmax). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** KL(p || q) from log-probabilities; terms with p = 0 contribute nothing. */
export function klDivergence(logP: ArrayLike<number>, logQ: ArrayLike<number>): number {
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const p = Math.exp(logP[i]);
    if (p > 0) kl += p * (logP[i] - logQ[i]);
  }
  return kl;
}

export function sqnrDb(reference: ArrayLike<number>, test: ArrayLike<number>): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < reference.length; i++) {
    signal += reference[i] * reference[i];
    noise += (reference[i] - test[i]) ** 2;
  }
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

export function compareLogits(floatLogits: ArrayLike<number>, quantLogits: ArrayLike<number>, classes: number): Agreement {
  if (floatLogits.length !== quantLogits.length || floatLogits.length % classes !== 0) {
    throw new NibbleError('E_SHAPE', `logits of ${floatLogits.length} and ${quantLogits.length} values do not make rows of ${classes} classes`, {
      hint: 'compare the outputs of the same model input, float and quantized, as [n, classes] rows',
    });
  }
  const n = floatLogits.length / classes;
  const pf = new Float64Array(floatLogits.length);
  const pq = new Float64Array(floatLogits.length);
  const disagreements: number[] = [];
  let sumKl = 0;
  let maxKl = 0;
  for (let s = 0; s < n; s++) {
    const f = Array.prototype.slice.call(floatLogits, s * classes, (s + 1) * classes) as number[];
    const q = Array.prototype.slice.call(quantLogits, s * classes, (s + 1) * classes) as number[];
    const lf = logSoftmax(f);
    const lq = logSoftmax(q);
    const kl = klDivergence(lf, lq);
    sumKl += kl;
    maxKl = Math.max(maxKl, kl);
    if (argmax(f) !== argmax(q)) disagreements.push(s);
    for (let c = 0; c < classes; c++) {
      pf[s * classes + c] = Math.exp(lf[c]);
      pq[s * classes + c] = Math.exp(lq[c]);
    }
  }
  return {
    n, agree: n - disagreements.length, meanKl: n > 0 ? sumKl / n : 0, maxKl,
    sqnrLogitsDb: sqnrDb(floatLogits, quantLogits), sqnrProbsDb: sqnrDb(pf, pq), disagreements,
  };
}
