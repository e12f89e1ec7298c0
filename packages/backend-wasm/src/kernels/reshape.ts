import { reshapeTarget } from '@nibble/quant';
import { registerKernel } from '../registry';

/** Reshape by a constant shape that keeps the batch axis: the same bytes, a new per-sample shape. */
registerKernel({
  opType: 'Reshape',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    const shape = reshapeTarget(node, x.shape, (m, h) => ctx.fail(node, m, h));
    if (x.clamp) return ctx.fail(node, 'its input is a pending clamp');
    // Per-channel codes keep their channel only if the leading axis stays the channel axis.
    if (x.kind === 'codes' && x.channels > 1 && shape[0] !== x.shape[0]) return ctx.fail(node, 'reshaping per-channel codes across the channel axis is not supported');
    ctx.define(node.outputs[0].name, { ...x, shape, asCodes: false, buffer: x.buffer });
  },
});
