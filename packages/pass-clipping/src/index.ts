/*
 * @nibble/pass-clipping: clip-range selection. The math (src/math) is pure
 * functions; the passes apply it to the values quant-policy marked.
 * Importing this module registers clip-minmax, clip-aciq, clip-percentile,
 * clip-kl, clip-mse and clip-least-error.
 */
import { registerPass } from '@nibble/core';
import { clipAciqPass } from './clip-aciq.pass';
import { clipKlPass } from './clip-kl.pass';
import { clipLeastErrorPass } from './clip-least-error.pass';
import { clipMinmaxPass } from './clip-minmax.pass';
import { clipMsePass } from './clip-mse.pass';
import { clipPercentilePass } from './clip-percentile.pass';

export { aciqRange } from './math';
export { clipCandidates, type ClipCandidate, type ClipCandidateMethod, type CandidateInput } from './candidates';
export { ERROR_CURVES_KEY, type ErrorCurves } from './clip-least-error.pass';

registerPass(clipMinmaxPass);
registerPass(clipAciqPass);
registerPass(clipPercentilePass);
registerPass(clipKlPass);
registerPass(clipMsePass);
registerPass(clipLeastErrorPass);
