import { clipBounds } from '@nibble/quant';
import { registerKernel } from '../registry';
import { clampValue } from './clamp';

registerKernel({
  opType: 'Clip',
  compile(node, ctx) {
    const x = ctx.inputLazy(node, 0);
    const [lo, hi] = clipBounds(node, (m, h) => ctx.fail(node, m, h));
    clampValue(ctx, node, x, lo, hi);
  },
});
