import { NibbleError, Shape, integerRange } from '@nibble/ir';
import { AffineParams, channelLayout, checkParams, containerDType, toFloat32 } from '@nibble/quant';
import { ChannelCorrection } from './correction';

/**
 * Folding a correction into what an integer backend can carry.
 *
 * The corrected weight of output channel c is
 *   w' = xi_c (q - zp_c) s_c + shift_c.
 * The multiplier folds exactly into the scale: s'_c = xi_c s_c (rounded to
 * float32, like every scale). The shift cannot stay on the weights, which
 * must remain integers on a grid. Where can it go?
 *
 * 1. Into the zero point, exactly, when shift_c is a whole number k of
 *    steps: (q - zp_c) s' + k s' = (q - (zp_c - k)) s'. In general only the
 *    whole-step part k = round(shift_c / s'_c) moves there (kept inside the
 *    container's range); a residual r_c with |r_c| <= s'_c / 2 remains.
 *    Bias correction shifts are usually a fraction of a step (they are the
 *    mean rounding error), so k is usually 0.
 * 2. Into the bias, in expectation only. A constant r_c added to every
 *    weight of channel c adds r_c * sum_k x_k over the receptive field to
 *    the output: that depends on the input. Replacing it by its calibration
 *    mean, bias_c += r_c * kernelSize * sum_{j in c's group} E[x_j]
 *    (biasFromResidual), is right on average; per output the folded layer
 *    misses r_c * sum_k (x_k - E[x_k]) (zero mean, std |r_c| sqrt(Var sum_k x_k)),
 *    and at zero-padded borders the true window holds fewer inputs than the
 *    expectation assumes.
 *
 * An exact alternative for our own kernels: they already compute the window
 * sum of the inputs for the weight zero-point term, so a per-channel float
 * offset r_c times that sum would be exact at no extra cost. Formats cannot
 * express it (ONNX/TFLite zero points are integers).
 *
 * The residual is chosen so that the folded channel's mean equals the
 * corrected channel's mean exactly (it also absorbs the float32 rounding of
 * s'). The folded parameters describe the stored integers q; they are not a
 * quantizer for new float weights.
 */
export interface FoldOptions {
  /** Move whole steps of the shift into the zero point (default true). */
  shiftZeroPoint?: boolean;
  /** Integer range the new zero points must stay in (default: the container dtype of the params). */
  zeroPointRange?: readonly [number, number];
  name?: string;
}

export interface FoldedCorrection {
  /** scale' = float32(xi * scale), zeroPoint' = zeroPoint - zeroPointShift. */
  params: AffineParams;
  zeroPointShift: Int32Array;
  /** Per-channel constant the folded grid still lacks (0 when the fold is exact). */
  residual: Float64Array;
}

export function foldCorrection(q: ArrayLike<number>, shape: Shape, params: AffineParams, corr: ChannelCorrection, opts: FoldOptions = {}): FoldedCorrection {
  const where = opts.name ?? 'weight';
  checkParams(params, where);
  if (params.axis === null || channelLayout(shape, params.axis, undefined, where).axis !== corr.axis) {
    throw new NibbleError('E_SHAPE', `bias-correct (${where}): weights must be quantized per channel along the corrected axis ${corr.axis}`, {
      value: where,
      hint: 'bias correction is per output channel; quantize the weight per channel along the same axis',
    });
  }
  const L = channelLayout(shape, corr.axis, corr.xi.length, where);
  if (params.scale.length !== L.channels) {
    throw new NibbleError('E_SHAPE', `bias-correct (${where}): ${params.scale.length} parameter sets for ${L.channels} channels`, { value: where });
  }
  const [zlo, zhi] = opts.zeroPointRange ?? integerRange(containerDType(params));
  const C = L.channels;
  const scale = new Float64Array(C);
  const zeroPoint = new Int32Array(C);
  const zeroPointShift = new Int32Array(C);
  for (let c = 0; c < C; c++) {
    const s = toFloat32(corr.xi[c] * params.scale[c]);
    if (!(s > 0) || !Number.isFinite(s)) {
      throw new NibbleError('E_NUMERIC', `bias-correct (${where}): channel ${c} scale ${params.scale[c]} * xi ${corr.xi[c]} is not a positive float32`, { value: where });
    }
    scale[c] = s;
    let k = opts.shiftZeroPoint === false ? 0 : Math.round(corr.shift[c] / s);
    const zp = params.zeroPoint[c];
    k = Math.min(Math.max(k, zp - zhi), zp - zlo);
    zeroPointShift[c] = k;
    zeroPoint[c] = zp - k;
  }
  // Residual = target channel mean - mean of the folded dequantized weights.
  const target = new Float64Array(C);
  const folded = new Float64Array(C);
  let i = 0;
  for (let o = 0; o < L.outer; o++) {
    for (let c = 0; c < C; c++) {
      const s0 = params.scale[c], z0 = params.zeroPoint[c], s1 = scale[c], z1 = zeroPoint[c];
      for (let j = 0; j < L.inner; j++, i++) {
        target[c] += corr.xi[c] * toFloat32((q[i] - z0) * s0) + corr.shift[c];
        folded[c] += toFloat32((q[i] - z1) * s1);
      }
    }
  }
  const n = L.outer * L.inner;
  const residual = new Float64Array(C);
  for (let c = 0; c < C; c++) residual[c] = (target[c] - folded[c]) / n;
  return { params: { scale, zeroPoint, bits: params.bits, axis: params.axis, signed: params.signed, ...(params.levels ? { levels: params.levels } : {}) }, zeroPointShift, residual };
}

/**
 * The bias change that carries the residual in expectation, for a weight of
 * layout [O, I/groups, ...kernel] (Conv; Gemm/MatMul weights as [N, K] with
 * no kernel dims): delta_c = r_c * kernelSize * sum_{j < I/groups} E[x_{g(c) I/groups + j}],
 * g(c) = floor(c / (O / groups)). `inputMean` is the per-input-channel mean
 * of the layer's input from calibration.
 */
export function biasFromResidual(residual: ArrayLike<number>, weightShape: Shape, inputMean: ArrayLike<number>, groups = 1, name = 'weight'): Float64Array {
  const O = weightShape[0];
  const perGroupIn = weightShape[1] ?? 1;
  let kernel = 1;
  for (let d = 2; d < weightShape.length; d++) kernel *= weightShape[d];
  if (residual.length !== O || !Number.isInteger(groups) || groups < 1 || O % groups !== 0 || inputMean.length !== perGroupIn * groups) {
    throw new NibbleError(
      'E_SHAPE',
      `bias-correct (${name}): weight [${weightShape.join(',')}] with ${groups} group(s) needs ${O} residuals and ${perGroupIn * groups} input means, got ${residual.length} and ${inputMean.length}`,
      { value: name },
    );
  }
  const outPerGroup = O / groups;
  const groupSum = new Float64Array(groups);
  for (let g = 0; g < groups; g++) for (let j = 0; j < perGroupIn; j++) groupSum[g] += inputMean[g * perGroupIn + j];
  const delta = new Float64Array(O);
  for (let c = 0; c < O; c++) delta[c] = residual[c] * kernel * groupSum[Math.floor(c / outPerGroup)];
  return delta;
}
