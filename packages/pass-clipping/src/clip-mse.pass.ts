import { definePass, type PassResult } from '@nibble/core';
import { clipRequirements, commonClipOptions, runClipping } from './clip-driver';
import { clipMode, modeOption } from './histogram-mode';
import { mseSearchRange } from './math/mse-search';

/** clip-mse: the range with the least quantization MSE measured on the channel's histogram, through our own grid. */
export const clipMsePass = definePass({
  name: 'clip-mse',
  summary: 'clip ranges minimising the quantization MSE measured on each channel\'s histogram',
  options: {
    ...commonClipOptions('activations'),
    mode: modeOption('asymmetric', 'the observed [min, max] shrunk by one factor'),
    gridPoints: { type: 'integer', default: 100, min: 8, max: 10000, description: 'points of the scan before the golden-section refinement' },
  },
  requires: (opts) => clipRequirements(opts, true),
  preserves: 'all',
  run(graph, ctx, opts): Promise<PassResult> {
    return runClipping(clipMsePass, graph, ctx, opts, {
      histograms: true,
      deterministic: true,
      range: ({ histogram, bits, oneSided }) => {
        const r = mseSearchRange(histogram!, { bits, mode: clipMode(opts.mode, oneSided), gridPoints: opts.gridPoints });
        return { lo: r.lo, hi: r.hi };
      },
    });
  },
});
