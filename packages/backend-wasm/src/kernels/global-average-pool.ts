import type { Node } from '@nibble/ir';
import { registerKernel } from '../registry';
import { type CompileContext, channelParams, type PlannedValue } from '../plan';

/** GlobalAveragePool to a real [C,1,1]: on codes s * sum(q - zp) / HW, the integer sum exact. */
registerKernel({
  opType: 'GlobalAveragePool',
  compile(node, ctx) {
    globalAveragePool(node, ctx, ctx.input(node, 0));
  },
});

export function globalAveragePool(node: Node, ctx: CompileContext, x: PlannedValue): void {
  if (x.shape.length !== 3 || x.clamp) return ctx.fail(node, 'only [N,C,H,W] inputs are supported');
  const [C, H, W] = x.shape;
  const y = ctx.define(node.outputs[0].name, { kind: 'real', shape: [C, 1, 1], channels: C, inner: 1 });
  const k = ctx.k;
  if (x.kind === 'codes') {
    const { scale, zeroPoint } = channelParams(x, C);
    const pS = ctx.constant(scale);
    const pZ = ctx.constant(zeroPoint);
    ctx.emit(node, 'globalAvgPoolCodes', () => k.globalAvgPoolCodes(x.buffer.offset, C, H * W, pS, pZ, y.buffer.offset));
  } else {
    ctx.emit(node, 'globalAvgPoolReal', () => k.globalAvgPoolReal(x.buffer.offset, C, H * W, y.buffer.offset));
  }
}
