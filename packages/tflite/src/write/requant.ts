/*
 * TFLite 2.9's requantization of an int32 accumulator into an int8 output,
 * as its x86 kernels compute it (measured element by element against
 * tools/tflite-ref, scratch/tflprobe): the real multiplier
 * m = s_in * s_w / s_out becomes a Q31 mantissa M and an exponent
 * (QuantizeMultiplier), and
 *
 *   y = RoundingShiftRight(HighMul(acc, M), rs)      (rs = right shift)
 *
 * rounds twice: HighMul to an integer of 2^-rs output levels, then the
 * shift to a level, ties upward. Folding the two roundings into one,
 *
 *   y = floor(acc * m_q + 1/2 + 2^-(rs+1)),   m_q = M * 2^-(31+rs),
 *
 * which is a single rounding of (acc + d) * m_q with d = 2^30 / M
 * accumulator units (d in (1/2, 1]). TFLite so adds d to every
 * accumulator: a systematic upward offset of d * m levels, which at the
 * large multipliers of 4-bit output grids (m ~ 0.05-0.4) moves 2-8 % of a
 * layer's outputs one level up. The writer subtracts d from the int32 bias
 * before rounding it (so TFLite's result is the exact value rounded), and
 * the tflite targets give the simulation the bias TFLite then adds,
 * (b_int + d) * s_in * s_w (tfliteBiases), so the two compute the same
 * levels.
 */

/** TFLite's QuantizeMultiplier: m = M * 2^(shift - 31) with M a Q31 mantissa in [2^30, 2^31). */
export function quantizeMultiplier(real: number): { multiplier: number; shift: number } {
  if (real === 0 || !Number.isFinite(real)) return { multiplier: 0, shift: 0 };
  // frexp: real = q * 2^shift with q in [0.5, 1).
  let shift = Math.floor(Math.log2(real)) + 1;
  let q = real / 2 ** shift;
  if (q >= 1) {
    q /= 2;
    shift++;
  } else if (q < 0.5) {
    q *= 2;
    shift--;
  }
  let multiplier = Math.round(q * 2 ** 31);
  if (multiplier === 2 ** 31) {
    multiplier /= 2;
    shift++;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier, shift };
}

/**
 * The accumulator units TFLite's two-step rounding adds before rounding
 * once (see above): 2^30 / M when the requantization shifts right, 0 when
 * it rounds only once (m >= 1/2).
 */
export function requantOffset(real: number): number {
  const { multiplier, shift } = quantizeMultiplier(real);
  return multiplier > 0 && shift < 0 ? 2 ** 30 / multiplier : 0;
}

/**
 * The real multiplier TFLite derives for a layer's output channel, from the
 * float32 scales the file stores: CONV_2D and DEPTHWISE_CONV_2D multiply in
 * double (PopulateConvolutionQuantizationParams), FULLY_CONNECTED forms the
 * float32 product s_in * s_w first (GetQuantizedConvolutionMultipler).
 */
export function layerMultiplier(inputScale: number, filterScale: number, outputScale: number, kind: 'conv' | 'fc'): number {
  const [si, sw, so] = [Math.fround(inputScale), Math.fround(filterScale), Math.fround(outputScale)];
  return kind === 'fc' ? Math.fround(si * sw) / so : (si * sw) / so;
}
