import { sizeOf } from '../plan';
import { registerKernel } from '../registry';

/** Flatten(axis=1): the same buffer as one row per sample. */
registerKernel({
  opType: 'Flatten',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (node.getInt('axis', 1) !== 1) return ctx.fail(node, 'only axis=1 (one row per sample) is supported');
    ctx.define(node.outputs[0].name, { ...x, shape: [sizeOf(x.shape)], asCodes: false, buffer: x.buffer });
  },
});
