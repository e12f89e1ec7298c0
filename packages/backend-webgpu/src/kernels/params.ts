import type { Node } from '@nibble/ir';
import { qdqParams, type QdqParams } from '@nibble/quant';
import type { CompileContext } from '../plan';

/** Scale and zero point of a QuantizeLinear/DequantizeLinear on a per-sample shape (@nibble/quant's reading, as the wasm plan's). */
export function quantParams(node: Node, ctx: CompileContext, sampleShape: readonly number[]): QdqParams {
  return qdqParams(node, sampleShape, (m, h) => ctx.fail(node, m, h));
}
