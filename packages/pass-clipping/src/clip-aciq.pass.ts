import { definePass, type PassResult } from '@nibble/core';
import { clipRequirements, commonClipOptions, runClipping } from './clip-driver';
import { aciqRange } from './math/aciq';
import { chooseClipByMse } from './math/choose';
import { minMaxRange } from './math/minmax';

const FULLY_CONNECTED = new Set(['Gemm', 'MatMul']);

/** Only dist=auto measures the candidates' error on histograms. */
const readsHistograms = (opts: { dist: string }): boolean => opts.dist === 'auto';

/**
 * clip-aciq: the analytical clip of METHOD.md section 1 from each channel's
 * mean, mean absolute deviation b (Laplace) or std s (Gauss): signed
 * lo = max(min, mu - a), hi = lo + 2a with a = alpha_M * spread; one-sided
 * [0, max(mu, 0) + alpha_{M+1} * spread]. M is the channel's own bit-width,
 * so after alloc-bits each channel is clipped at its allocated width.
 */
export const clipAciqPass = definePass({
  name: 'clip-aciq',
  summary: 'ACIQ: clip at the MSE-optimal alpha of a Laplace or Gauss prior, per channel at its own bit-width',
  description: [
    'dist=auto picks per channel, among Laplace, Gauss and min/max, the range with the least quantization',
    'MSE measured on the channel\'s histogram. cap-observed clamps the range to the observed one (ACIQ from',
    'pre-ReLU statistics can exceed it); fc-minmax leaves per-tensor fully connected outputs at min/max.',
    'Both are off by default, as in the paper. The paper clips activations with ACIQ, weights with min/max.',
  ].join('\n'),
  options: {
    ...commonClipOptions('activations'),
    dist: { type: 'enum', values: ['laplace', 'gauss', 'auto'], default: 'laplace', description: 'prior: laplace (b), gauss (std), or auto (least measured MSE per channel, min/max included)' },
    capObserved: { type: 'boolean', default: false, description: 'cap the range at the observed [min, max]' },
    fcMinmax: { type: 'boolean', default: false, description: 'per-tensor fully connected (Gemm/MatMul) outputs keep min/max' },
  },
  requires: (opts) => clipRequirements(opts, readsHistograms(opts)),
  preserves: 'all',
  run(graph, ctx, opts): Promise<PassResult> {
    return runClipping(clipAciqPass, graph, ctx, opts, {
      histograms: readsHistograms(opts),
      deterministic: true,
      // Laplace and Gauss have alpha for any number of bins; dist=auto measures candidates at bit-widths only.
      levels: opts.dist !== 'auto',
      range: ({ stats, histogram, bits, levels, oneSided, point, axis }) => {
        if (opts.fcMinmax && point.kind === 'activation' && axis === null && FULLY_CONNECTED.has(point.op)) {
          return { ...minMaxRange(stats, oneSided), tag: 'fc-minmax' };
        }
        if (opts.dist === 'auto') {
          const r = chooseClipByMse(histogram!, stats, { bits, oneSided, capAtObserved: opts.capObserved });
          return { lo: r.lo, hi: r.hi, tag: r.choice };
        }
        const r = aciqRange(stats, { prior: opts.dist, bits, oneSided, capAtObserved: opts.capObserved, ...(levels === undefined ? {} : { levels }) });
        const observed = oneSided ? Math.max(stats.max, 0) : stats.max;
        return { lo: r.lo, hi: r.hi, tag: opts.capObserved && r.hi === observed ? 'capped' : r.hi > observed ? 'beyond-observed' : opts.dist };
      },
    });
  },
});
