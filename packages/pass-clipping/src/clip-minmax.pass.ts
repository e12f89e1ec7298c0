import { definePass, type PassResult } from '@nibble/core';
import { clipRequirements, commonClipOptions, runClipping } from './clip-driver';
import { minMaxRange } from './math/minmax';

/**
 * clip-minmax: the observed range, lo = 0 where one-sided (the naive
 * baseline, and the paper's choice for weights). Bits do not change it.
 */
export const clipMinmaxPass = definePass({
  name: 'clip-minmax',
  summary: 'clip ranges = the observed [min, max] per channel (lo = 0 for one-sided values)',
  options: commonClipOptions('all'),
  requires: (opts) => clipRequirements(opts, false),
  preserves: 'all',
  run(graph, ctx, opts): Promise<PassResult> {
    return runClipping(clipMinmaxPass, graph, ctx, opts, {
      histograms: false,
      // The observed range does not depend on the grid.
      levels: true,
      range: ({ stats, oneSided }) => minMaxRange(stats, oneSided),
    });
  },
});
