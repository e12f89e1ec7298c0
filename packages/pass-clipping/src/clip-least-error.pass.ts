import { definePass, type PassResult } from '@nibble/core';
import type { Value } from '@nibble/ir';
import { type ClipChannel, clipRequirements, commonClipOptions, runClipping } from './clip-driver';
import type { BinnedDensity } from './math/histogram';
import { LEAST_ERROR_CANDIDATES, leastErrorCurve, leastErrorRange, pointMasses } from './math/least-error';
import { constantChannelValues } from './value-stats';

/** Where clip-least-error{curves=true} leaves each value's measured error curves (alloc-bits{by=error} reads them). */
export const ERROR_CURVES_KEY = 'clipErrorCurves';

/**
 * Per channel, the least measured quantization MSE at each of `widths`:
 * errors[c][k] at widths[k] bits. Plain data in value.meta, so that a pass
 * of another package can read it without importing this one.
 */
export interface ErrorCurves {
  widths: number[];
  errors: number[][];
  /** ranges[c][k]: the [lo, hi] that error was measured at (refresh reuses it instead of searching again). */
  ranges: [number, number][][];
}

/** Widths an error curve spans around a value's marked width: two bits either side, within [0, 8]. */
function curveWidths(bits: number): number[] {
  const out: number[] = [];
  for (let b = Math.max(0, bits - 2); b <= Math.min(8, bits + 2); b++) out.push(b);
  return out;
}

/**
 * clip-least-error: nibble's clipping. Per channel, among the ranges the
 * other methods would choose (min/max, ACIQ Laplace and Gauss at the
 * channel's own width, MSE search, 99.99th and 99.9th percentiles), each
 * clamped to the observed range (and below a reader's bound such as ReLU6,
 * which the driver applies), the one with the least quantization MSE
 * measured on the channel's values: activations on their calibration
 * histograms, weights exactly on the constant's own values (each a point
 * mass). min/max is a candidate, so no channel's measured error exceeds the
 * naive baseline's.
 */
export const clipLeastErrorPass = definePass({
  name: 'clip-least-error',
  summary: 'per channel, the candidate clip range (min/max, ACIQ, MSE search, percentile) with the least measured error',
  description: [
    'Candidates are capped at the observed range. Activations are measured on their calibration histograms,',
    'weights exactly on their values. curves=true also records each channel\'s least error at two bits either',
    'side of its marked width, for alloc-bits{by=error}.',
  ].join('\n'),
  options: {
    ...commonClipOptions('activations'),
    gridPoints: { type: 'integer', default: 32, min: 8, max: 10000, description: 'points of the error search\'s scan (then golden-section refinement)' },
    clipWeight: { type: 'number', default: 1, min: 1, max: 1000, description: 'how many times the clipping part of the error counts (1: plain MSE)' },
    curves: { type: 'boolean', default: false, description: 'record per-channel error curves in the value\'s meta (for alloc-bits{by=error})' },
  },
  requires: (opts) => clipRequirements(opts, true),
  preserves: 'all',
  async run(graph, ctx, opts): Promise<PassResult> {
    // Weights: each channel's exact values as point masses, built once per value.
    const exact = new Map<Value, BinnedDensity[]>();
    const channelHistogram = (ch: ClipChannel): BinnedDensity => {
      if (ch.point.kind !== 'weight') return ch.histogram!;
      let hs = exact.get(ch.value);
      if (!hs) {
        hs = constantChannelValues(ch.value, ch.axis, clipLeastErrorPass.name).map(pointMasses);
        exact.set(ch.value, hs);
      }
      return hs[ch.channel];
    };
    const curves = new Map<Value, ErrorCurves>();
    const options = { candidates: LEAST_ERROR_CANDIDATES, gridPoints: opts.gridPoints, clipWeight: opts.clipWeight };
    const result = await runClipping(clipLeastErrorPass, graph, ctx, opts, {
      histograms: true,
      range: (ch) => {
        const h = channelHistogram(ch);
        const at = (bits: number) => leastErrorRange(h, ch.stats, { ...options, bits, oneSided: ch.oneSided });
        if (!opts.curves) {
          const r = at(ch.bits);
          return { lo: r.lo, hi: r.hi, tag: r.choice };
        }
        if (opts.refresh) {
          // After alloc-bits: the range at the allocated width was measured with the curve.
          const cv = ch.value.meta[ERROR_CURVES_KEY] as ErrorCurves | undefined;
          const k = cv ? cv.widths.indexOf(ch.bits) : -1;
          if (cv && k >= 0 && cv.ranges[ch.channel]?.[k]) {
            const [lo, hi] = cv.ranges[ch.channel][k];
            return { lo, hi, tag: 'curve' };
          }
          const r = at(ch.bits);
          return { lo: r.lo, hi: r.hi, tag: r.choice };
        }
        let cv = curves.get(ch.value);
        if (!cv) {
          cv = { widths: curveWidths(ch.point.bits), errors: [], ranges: [] };
          curves.set(ch.value, cv);
        }
        const errors: number[] = [];
        const ranges: [number, number][] = [];
        let own: { lo: number; hi: number; tag: string } | undefined;
        for (const w of cv.widths) {
          if (w === 0) {
            errors.push(leastErrorCurve(h, ch.stats, [0], { ...options, oneSided: ch.oneSided })[0]);
            const c = ch.oneSided ? Math.max(ch.stats.mean, 0) : ch.stats.mean;
            ranges.push([c, c]);
            continue;
          }
          const r = at(w);
          errors.push(r.mse);
          ranges.push([r.lo, r.hi]);
          if (w === ch.bits) own = { lo: r.lo, hi: r.hi, tag: r.choice };
        }
        cv.errors[ch.channel] = errors;
        cv.ranges[ch.channel] = ranges;
        if (own) return own;
        const r = at(ch.bits);
        return { lo: r.lo, hi: r.hi, tag: r.choice };
      },
    });
    for (const [v, cv] of curves) v.meta[ERROR_CURVES_KEY] = cv;
    return result;
  },
});
