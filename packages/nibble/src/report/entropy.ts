import type { Shape } from '@nibble/ir';
import { type AffineParams, channelLayout, quantize } from '@nibble/quant';
import type { Histogram } from '@nibble/stats';

/*
 * How many bits a value's integer codes carry: the Shannon entropy of their
 * distribution, per channel, the bound an entropy coder approaches (the
 * paper's variable-length figures are these). A 4-bit grid whose codes
 * crowd round the zero point holds fewer than 4.
 */

/** -sum p log2 p of a histogram of counts (zeros skipped); 0 for an empty one. */
export function shannonBits(counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  if (total === 0) return 0;
  let h = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] > 0) {
      const p = counts[i] / total;
      h -= p * Math.log2(p);
    }
  }
  return h;
}

/** Entropy of integer levels per channel along `axis`, and their mean over the tensor's values. */
export function levelEntropy(levels: ArrayLike<number>, shape: Shape, axis: number | null, channels: number): { perChannel: Float64Array; mean: number } {
  const L = channelLayout(shape, axis, channels);
  const counts = Array.from({ length: L.channels }, () => new Map<number, number>());
  let i = 0;
  for (let o = 0; o < L.outer; o++) {
    for (let c = 0; c < L.channels; c++) {
      const m = counts[c];
      for (let j = 0; j < L.inner; j++, i++) m.set(levels[i], (m.get(levels[i]) ?? 0) + 1);
    }
  }
  const perChannel = Float64Array.from(counts, (m) => shannonBits([...m.values()]));
  // Every channel holds the same number of values, so the mean over values is the mean over channels.
  return { perChannel, mean: perChannel.reduce((a, b) => a + b, 0) / perChannel.length };
}

/**
 * Entropy of the codes channel c of `p` takes on the histogram `h`: every
 * bin's count goes to the code of its centre.
 */
export function histogramChannelEntropy(h: Histogram, p: AffineParams, c: number): number {
  // Only occupied bins: an empty one adds nothing to any code's count (nsfwjs: 17k channels of 2,048 bins).
  const counts = h.counts;
  let n = 0;
  for (let k = 0; k < counts.length; k++) if (counts[k] > 0) n++;
  const occupied = new Int32Array(n);
  const centres = new Float64Array(n);
  for (let k = 0, j = 0; k < counts.length; k++) {
    if (!(counts[k] > 0)) continue;
    occupied[j] = k;
    centres[j++] = h.edge(k) + h.binWidth / 2;
  }
  const one: AffineParams = {
    scale: p.scale.subarray(c, c + 1), zeroPoint: p.zeroPoint.subarray(c, c + 1), bits: p.bits.subarray(c, c + 1), axis: null, signed: p.signed,
    ...(p.levels ? { levels: p.levels.subarray(c, c + 1) } : {}),
  };
  const codes = quantize(centres, [centres.length], one);
  // Codes rise with the centres, so each code's bins are consecutive: counts summed in bin order, codes ascending.
  const perCode = new Float64Array(n);
  let codesSeen = 0;
  for (let j = 0; j < n; j++) {
    const m = counts[occupied[j]];
    if (j > 0 && codes[j] < codes[j - 1]) return shannonBits(countsByCode(codes, Float64Array.from(occupied, (k) => counts[k])));
    if (j > 0 && codes[j] === codes[j - 1]) perCode[codesSeen - 1] += m;
    else perCode[codesSeen++] = m;
  }
  return shannonBits(perCode.subarray(0, codesSeen));
}

/** Counts summed per code, codes in order of first appearance (any order of codes). */
function countsByCode(codes: ArrayLike<number>, counts: ArrayLike<number>): number[] {
  const byCode = new Map<number, number>();
  for (let k = 0; k < codes.length; k++) byCode.set(codes[k], (byCode.get(codes[k]) ?? 0) + counts[k]);
  return [...byCode.values()];
}

/**
 * Entropy of the codes an activation takes on calibration data, from its
 * histograms (one per channel of `p`, or one for a per-tensor grid). Mean
 * over channels weighted by their counts (every channel sees the same
 * number of values).
 */
export function histogramCodeEntropy(histograms: readonly Histogram[], p: AffineParams): number | null {
  if (histograms.length !== p.scale.length) return null;
  let weighted = 0;
  let total = 0;
  for (let c = 0; c < p.scale.length; c++) {
    weighted += histogramChannelEntropy(histograms[c], p, c) * histograms[c].count;
    total += histograms[c].count;
  }
  return total > 0 ? weighted / total : null;
}
