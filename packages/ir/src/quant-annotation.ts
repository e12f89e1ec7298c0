/**
 * What the quantization passes say about one tensor (an activation or a
 * weight). Passes fill it in stages: a clipping pass sets `range`, bit
 * allocation sets `bits`, and `quantize` derives `scale`/`zeroPoint`.
 * Per-channel arrays have one entry per channel along `axis`; per-tensor ones
 * have length 1 and `axis` null.
 */
export interface QuantAnnotation {
  /** Channel axis of per-channel parameters, or null for per-tensor. */
  axis: number | null;
  /** Clip range per channel: values are clamped to [lo, hi] before rounding. */
  range?: { lo: Float64Array; hi: Float64Array };
  /** Bit-width per channel (0 means the channel becomes a constant). */
  bits?: Int32Array;
  /**
   * Levels per channel when the grid is not a power of two (alloc-bins' omega
   * bins, which need not be 2^bits): the codes are [0, levels - 1] in the
   * unsigned view, and `bits` is the container width that holds them
   * (ceil(log2 levels)). Absent: 2^bits levels.
   */
  levels?: Int32Array;
  /** True when the integer container is signed (int4/int8), false for uint4/uint8. */
  signed?: boolean;
  /** Affine parameters: x^ = (q - zeroPoint) * scale, q in [0, 2^bits - 1] (or signed). */
  scale?: Float64Array;
  zeroPoint?: Int32Array;
  /** Which pass chose the range, for reports (e.g. 'clip-aciq{dist=laplace}'). */
  rangeSource?: string;
}

/**
 * Where `quantize` keeps a weight's float tensor: on the meta of the
 * DequantizeLinear output that replaced it. Bias correction compares the
 * two, and reports measure the weight's quantization error from it; pass
 * packages may not import each other, so the key lives here.
 */
export const FLOAT_WEIGHT_KEY = 'floatWeight';

/**
 * Set by a pass that chose a weight's codes from calibration data rather
 * than rounding each weight to nearest (gptq), on the weight's dequantized
 * value: { method, ...its options }. Reports show it; gptq does not run twice.
 */
export const WEIGHT_ROUNDING_KEY = 'weightRounding';

/**
 * Set by bias-correct on each weight it corrected (its record: mode, form,
 * fold); here so that passes of other packages (gptq) can tell.
 */
export const BIAS_CORRECTION_KEY = 'biasCorrection';
