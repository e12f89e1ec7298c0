import type { Node, Value } from '@nibble/ir';
import { constantTensor } from '@nibble/ir';
import { quantizeMultiplier } from './requant';

/*
 * TFLite 2.9's requantization rounds twice (requant.ts): for a positive
 * pre-requantization value A it computes floor(A m + 1/2 + 2^-(rs+1)), an
 * offset of 2^-(rs+1) output levels (rs the right shift of the Q31
 * multiplier). CONV_2D and FULLY_CONNECTED (ruy) round upward for negative
 * A too, so one constant, folded into the int32 bias, cancels it (biasOf).
 * DEPTHWISE_CONV_2D, TRANSPOSE_CONV, MUL and ADD use gemmlowp's
 * MultiplyByQuantizedMultiplier, whose two roundings are symmetric about
 * zero: the offset is +2^-(rs+1) levels for A > 0 and -2^-(rs+1) for
 * A < 0 (measured against tools/tflite-ref: a constant bias correction left
 * 2-5 % of a two-sided depthwise output a level low). No bias can carry a
 * sign-dependent term, so for these operators the writer rounds the bias
 * plainly and the simulation gets the offset as graph arithmetic after the
 * operator's output t, before its quantization:
 *
 *   t' = t + Sign(t) * c,   c = 2^-(rs+1) * s_out (per channel where rs is)
 *
 * tflite-bias inserts Sign / Mul / Add (alignBiasesToTflite); the writer
 * recognises them (roundingCorrectionOf) and writes nothing for them: they
 * are what the one TFLite operator computes.
 */

/** The offset TFLite's symmetric two-step requantization adds, in output levels, for a real multiplier m (0 when it rounds once). */
export function symmetricOffsetLevels(real: number): number {
  const { multiplier, shift } = quantizeMultiplier(real);
  return multiplier > 0 && shift < 0 ? 2 ** (shift - 1) : 0;
}

/** The correction nodes after v: Add(v, Mul(Sign(v), c)), when v's readers are exactly those. */
export function roundingCorrectionOf(v: Value): { sign: Node; mul: Node; add: Node; constant: Value } | undefined {
  if (v.uses.length !== 2 || v.isGraphOutput) return undefined;
  const sign = v.uses.find((u) => u.node.opType === 'Sign')?.node;
  const add = v.uses.find((u) => u.node.opType === 'Add')?.node;
  if (!sign || !add || sign.outputs[0].uses.length !== 1) return undefined;
  const mul = sign.outputs[0].uses[0].node;
  if (mul.opType !== 'Mul' || mul.outputs[0].uses.length !== 1 || mul.outputs[0].uses[0].node !== add) return undefined;
  const constant = mul.inputs.find((x) => x !== sign.outputs[0]);
  if (!constant || constantTensor(constant) === undefined || !add.inputs.includes(v)) return undefined;
  return { sign, mul, add, constant };
}

/** Whether n is one of the nodes of a rounding correction (written by the operator before it). */
export function isRoundingCorrection(n: Node): boolean {
  if (n.opType === 'Sign') return n.inputs[0] ? roundingCorrectionOf(n.inputs[0])?.sign === n : false;
  if (n.opType === 'Mul') {
    const s = n.inputs.find((x) => x?.producer?.opType === 'Sign');
    return s?.producer?.inputs[0] ? roundingCorrectionOf(s.producer.inputs[0])?.mul === n : false;
  }
  if (n.opType === 'Add') return n.inputs.some((x) => x !== null && roundingCorrectionOf(x)?.add === n);
  return false;
}
