import { NibbleError, type Node, type Value } from '@nibble/ir';
import { paramsOfAnnotation } from '@nibble/quant';

/*
 * The int8 grid of one activation tensor in a full-integer TFLite file:
 * one scale and one zero point per tensor (TFLite's int8 activations),
 * and the levels the quantized IR allows, which may be fewer than the
 * container's 256. nibble's activation grids are unsigned (levels 0 ..
 * 2^bits - 1 around zero point zp); in int8 the same values are the
 * levels shifted by -128, with zero point zp - 128: q' = q - 128,
 * s * (q' - zp') = s * (q - zp). A 4-bit grid so occupies -128 .. -113,
 * and whatever writes it must stop at -113 (see `clampNeeded`).
 */

export interface Grid {
  scale: number;
  /** Zero point in the int8 container. */
  zeroPoint: number;
  /** Lowest and highest int8 level the grid holds. */
  qmin: number;
  qmax: number;
  bits: number;
}

/** An error of the tflite targets that names the node, the value and the constraint it breaks. */
export function tfliteError(target: string, node: Node | undefined, value: Value | undefined, why: string, hint: string): NibbleError {
  const where = [node && `node '${node.name}' (${node.opType})`, value && `value '${value.name}'`].filter(Boolean).join(', ');
  return new NibbleError('E_UNSUPPORTED', `target ${target}: ${where}: ${why}`, {
    node: node?.name, op: node?.opType, value: value?.name, option: 'target', hint,
  });
}

/** The int8 grid of an annotated activation, or undefined when it has none; per-channel or wider grids are refused. */
export function gridOf(v: Value, target: string, node?: Node): Grid | undefined {
  if (!v.quant?.scale) return undefined;
  const p = paramsOfAnnotation(v.quant, v.name);
  if (p.axis !== null && p.scale.length > 1) {
    throw tfliteError(target, node ?? v.producer ?? undefined, v, `the activation is quantized per channel along axis ${p.axis} (constraint: per-tensor activation scales)`,
      `TFLite's int8 kernels take one scale per activation tensor: quantize with the target's plan (nibble quantize --target ${target})`);
  }
  const bits = p.bits[0];
  if (bits < 1 || bits > 8) {
    throw tfliteError(target, node ?? v.producer ?? undefined, v, `the activation grid has ${bits} bits (constraint: 1 to 8 bits in int8)`,
      `quantize with the target's plan (nibble quantize --target ${target})`);
  }
  const offset = p.signed ? 0 : -128;
  const lo = p.signed ? -(2 ** (bits - 1)) : 0;
  const hi = p.signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  return { scale: p.scale[0], zeroPoint: p.zeroPoint[0] + offset, qmin: lo + offset, qmax: hi + offset, bits };
}

export function sameGrid(a: Grid, b: Grid): boolean {
  return a.scale === b.scale && a.zeroPoint === b.zeroPoint && a.qmin === b.qmin && a.qmax === b.qmax;
}

/** Whether the grid's lowest level is 0.0 (a one-sided, ReLU-like grid). */
export function startsAtZero(g: Grid): boolean {
  return g.zeroPoint === g.qmin;
}

/** The grid's highest value, as float32 arithmetic gives it. */
export function gridTop(g: Grid): number {
  return Math.fround((g.qmax - g.zeroPoint) * g.scale);
}
