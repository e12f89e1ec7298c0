import { checkGlobalWindow } from '@nibble/quant';
import { registerKernel } from '../registry';
import { globalAveragePool } from './global-average-pool';

/** AveragePool whose one window covers the whole image (no pads): GlobalAveragePool. */
registerKernel({
  opType: 'AveragePool',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    checkGlobalWindow(node, x.shape, (m, h) => ctx.fail(node, m, h));
    globalAveragePool(node, ctx, x);
  },
});
