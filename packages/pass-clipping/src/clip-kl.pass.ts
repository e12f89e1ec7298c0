import { definePass, type PassResult } from '@nibble/core';
import { clipRequirements, commonClipOptions, runClipping } from './clip-driver';
import { clipMode, modeOption } from './histogram-mode';
import { klRange } from './math/kl';

/** clip-kl: the window whose quantized histogram is closest in KL divergence (TensorRT's entropy calibration). */
export const clipKlPass = definePass({
  name: 'clip-kl',
  summary: 'clip ranges minimising the KL divergence between a channel\'s histogram and its quantized form',
  options: {
    ...commonClipOptions('activations'),
    mode: modeOption('symmetric', 'the observed [min, max] shrunk by one factor'),
    candidates: { type: 'integer', default: 512, min: 8, max: 8192, description: 'most clip windows tried per channel' },
  },
  requires: (opts) => clipRequirements(opts, true),
  preserves: 'all',
  run(graph, ctx, opts): Promise<PassResult> {
    return runClipping(clipKlPass, graph, ctx, opts, {
      histograms: true,
      deterministic: true,
      range: ({ histogram, bits, oneSided }) => {
        const r = klRange(histogram!, { bits, mode: clipMode(opts.mode, oneSided), candidates: opts.candidates });
        return { lo: r.lo, hi: r.hi };
      },
    });
  },
});
