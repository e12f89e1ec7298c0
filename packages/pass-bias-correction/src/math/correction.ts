import { NibbleError, Shape } from '@nibble/ir';
import { channelLayout } from '@nibble/quant';

/**
 * Weight bias correction (METHOD.md section 3). Per output channel c, with
 * float weights W_c and their quantized values W_c^q:
 *   mu_c = E[W_c] - E[W_c^q],  xi_c = ||W_c - E[W_c]|| / ||W_c^q - E[W_c^q]||
 *   form 'code' (default): w <- xi_c (w - E[W_c^q]) + E[W_c]
 *   form 'paper':          w <- xi_c (w + mu_c)
 * Mode 'mean' fixes xi_c = 1, and then both forms are the same mean shift
 * (the paper's default). In 'mean-var' the code form restores both the mean
 * and the std of the float channel; the paper form restores the std but
 * leaves the mean at xi_c E[W_c].
 * Either form is affine per channel: w' = xi_c w + shift_c, which is what
 * the fold (fold.ts) needs.
 */
export type BiasCorrectionMode = 'mean' | 'mean-var';
export type BiasCorrectionForm = 'code' | 'paper';

export interface CorrectionOptions {
  /** Output-channel axis of the weight (0 for Conv's [O, I/g, kH, kW] and Gemm's [N, K]). */
  axis?: number;
  mode?: BiasCorrectionMode;
  form?: BiasCorrectionForm;
  name?: string;
}

export interface ChannelCorrection {
  axis: number;
  mode: BiasCorrectionMode;
  form: BiasCorrectionForm;
  /** Per-channel multiplier (1 in mean mode, and where the quantized channel is constant). */
  xi: Float64Array;
  /** Per-channel additive term: w' = xi * w_q + shift. */
  shift: Float64Array;
  meanFloat: Float64Array;
  meanQuant: Float64Array;
}

function moments(x: ArrayLike<number>, shape: Shape, axis: number, where: string) {
  const L = channelLayout(shape, axis, undefined, where);
  const n = L.outer * L.inner;
  const mean = new Float64Array(L.channels);
  const ss = new Float64Array(L.channels);
  // Two passes in float64: the mean first, then squared deviations about it.
  for (let pass = 0; pass < 2; pass++) {
    let i = 0;
    for (let o = 0; o < L.outer; o++) {
      for (let c = 0; c < L.channels; c++) {
        const m = mean[c];
        for (let j = 0; j < L.inner; j++, i++) {
          const v = x[i];
          if (!Number.isFinite(v)) {
            throw new NibbleError('E_NUMERIC', `bias-correct (${where}): element ${i} is ${v}`, { value: where });
          }
          if (pass === 0) mean[c] += v;
          else ss[c] += (v - m) * (v - m);
        }
      }
    }
    if (pass === 0) for (let c = 0; c < L.channels; c++) mean[c] /= n;
  }
  return { mean, norm: ss.map(Math.sqrt), layout: L };
}

/** The per-channel correction of quantized weights `wq` towards float weights `w` (same shape). */
export function weightCorrection(w: ArrayLike<number>, wq: ArrayLike<number>, shape: Shape, opts: CorrectionOptions = {}): ChannelCorrection {
  const where = opts.name ?? 'weight';
  const axis = opts.axis ?? 0;
  const mode = opts.mode ?? 'mean';
  const form = opts.form ?? 'code';
  if (mode !== 'mean' && mode !== 'mean-var') {
    throw new NibbleError('E_BAD_OPTION', `bias-correct (${where}): mode '${mode}' is not 'mean' or 'mean-var'`, { option: 'mode', value: where });
  }
  if (form !== 'code' && form !== 'paper') {
    throw new NibbleError('E_BAD_OPTION', `bias-correct (${where}): form '${form}' is not 'code' or 'paper'`, { option: 'form', value: where });
  }
  if (w.length !== wq.length) {
    throw new NibbleError('E_SHAPE', `bias-correct (${where}): ${w.length} float weights but ${wq.length} quantized ones`, { value: where });
  }
  const f = moments(w, shape, axis, where);
  const q = moments(wq, shape, axis, where);
  const C = f.layout.channels;
  const xi = new Float64Array(C).fill(1);
  const shift = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    // A constant quantized channel (0 bits, or all weights on one level) has
    // no spread to rescale: only its mean is corrected.
    if (mode === 'mean-var' && q.norm[c] > 0) xi[c] = f.norm[c] / q.norm[c];
    shift[c] = form === 'code' ? f.mean[c] - xi[c] * q.mean[c] : xi[c] * (f.mean[c] - q.mean[c]);
  }
  return { axis: f.layout.axis!, mode, form, xi, shift, meanFloat: f.mean, meanQuant: q.mean };
}

/** w' = xi_c * w_q + shift_c, in float64. */
export function applyCorrection(wq: ArrayLike<number>, shape: Shape, corr: ChannelCorrection): Float64Array {
  const L = channelLayout(shape, corr.axis, corr.xi.length, 'weight');
  const out = new Float64Array(L.size);
  let i = 0;
  for (let o = 0; o < L.outer; o++) {
    for (let c = 0; c < L.channels; c++) {
      const a = corr.xi[c], b = corr.shift[c];
      for (let j = 0; j < L.inner; j++, i++) out[i] = a * wq[i] + b;
    }
  }
  return out;
}
