import { NibbleError } from '@nibble/ir';

/**
 * Shapes of clip range the histogram-based methods search over:
 * - 'symmetric': [-t, t] (TensorRT's and onnxruntime's KL works this way);
 * - 'one-sided': [0, t] for a tensor that feeds a ReLU (its negatives become
 *   exact zeros);
 * - 'asymmetric': percentile cuts each tail separately; KL and MSE search
 *   shrink the observed [min(lo, 0), max(hi, 0)] towards 0 by one common
 *   factor, which keeps the zero point where min/max puts it and leaves a
 *   one-parameter search (a two-parameter one costs the square).
 */
export type ClipMode = 'symmetric' | 'one-sided' | 'asymmetric';

export const CLIP_MODES: readonly ClipMode[] = ['symmetric', 'one-sided', 'asymmetric'];

export function checkMode(mode: string, where: string): asserts mode is ClipMode {
  if (!(CLIP_MODES as readonly string[]).includes(mode)) {
    throw new NibbleError('E_BAD_OPTION', `${where}: mode '${mode}' is not one of ${CLIP_MODES.join(', ')}`, { option: 'mode' });
  }
}

export function checkSearchBits(bits: number, where: string): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) {
    throw new NibbleError('E_BAD_OPTION', `${where}: bit-width ${bits} is not an integer in [1, 16]`, {
      option: 'bits',
      hint: 'a 0-bit channel is a constant and needs no clip search',
    });
  }
}
