import { constantTensor, type Node } from '@nibble/ir';
import type { CompileContext } from '../plan';

export interface QuantParams {
  channels: number;
  scale: Float64Array;
  zeroPoint: Int32Array;
  container: 'uint8' | 'uint4';
}

/** Scale and zero point of a QuantizeLinear/DequantizeLinear on a per-sample shape: per tensor, or per channel along axis (batch axis 0 excluded). */
export function quantParams(node: Node, ctx: CompileContext, sampleShape: readonly number[]): QuantParams {
  const s = constantTensor(node.inputs[1]);
  const z = constantTensor(node.inputs[2]);
  if (!s) return ctx.fail(node, 'the scale must be a constant');
  const dtype = z?.dtype ?? 'uint8';
  if (dtype !== 'uint8' && dtype !== 'uint4') return ctx.fail(node, `activation codes of ${dtype} are not supported (unsigned uint4/uint8 only)`);
  const scales = s.toFloat64();
  const zps = z ? z.toFloat64() : new Float64Array(scales.length);
  if (node.getInt('block_size', 0) !== 0) return ctx.fail(node, 'blocked quantization is not supported');
  const perAxis = scales.length > 1 || s.shape.length === 1;
  if (!perAxis) return { channels: 1, scale: Float64Array.of(scales[0]), zeroPoint: Int32Array.of(zps[0]), container: dtype };
  const rank = sampleShape.length + 1;
  const raw = node.getInt('axis', 1);
  const axis = raw < 0 ? raw + rank : raw;
  if (axis !== 1) return ctx.fail(node, `per-axis quantization on axis ${axis}; only the channel axis 1 is supported`);
  if (sampleShape[0] !== scales.length) return ctx.fail(node, `${scales.length} scales for ${sampleShape[0]} channels`);
  return { channels: scales.length, scale: Float64Array.from(scales), zeroPoint: Int32Array.from(zps), container: dtype };
}
