import { definePass, type PassResult } from '@nibble/core';
import { clipRequirements, commonClipOptions, runClipping } from './clip-driver';
import { clipMode, modeOption } from './histogram-mode';
import { percentileRange } from './math/percentile';

/** clip-percentile: keep p percent of each channel's mass (from its histogram); bits do not change it. */
export const clipPercentilePass = definePass({
  name: 'clip-percentile',
  summary: 'clip ranges at a percentile of each channel\'s histogram',
  options: {
    ...commonClipOptions('activations'),
    p: { type: 'number', default: 99.99, min: 50, max: 100, description: 'percent of the values kept inside the range' },
    mode: modeOption('asymmetric', 'each tail cut by (100 - p)/2 percent'),
  },
  requires: (opts) => clipRequirements(opts, true),
  preserves: 'all',
  run(graph, ctx, opts): Promise<PassResult> {
    return runClipping(clipPercentilePass, graph, ctx, opts, {
      histograms: true,
      deterministic: true,
      range: ({ histogram, oneSided }) => percentileRange(histogram!, opts.p, clipMode(opts.mode, oneSided)),
    });
  },
});
