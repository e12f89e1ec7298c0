import type { Node } from '@nibble/ir';
import { qdqParams, type QdqParams } from '@nibble/quant';
import type { CompileContext } from '../plan';

export type QuantParams = QdqParams;

/** Scale and zero point of a QuantizeLinear/DequantizeLinear on a per-sample shape (@nibble/quant's reading, shared with the WebGPU backend). */
export function quantParams(node: Node, ctx: CompileContext, sampleShape: readonly number[]): QuantParams {
  return qdqParams(node, sampleShape, (m, h) => ctx.fail(node, m, h));
}
