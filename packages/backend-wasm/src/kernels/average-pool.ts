import { registerKernel } from '../registry';
import { globalAveragePool } from './global-average-pool';

/** AveragePool whose one window covers the whole image (no pads): GlobalAveragePool. */
registerKernel({
  opType: 'AveragePool',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.shape.length !== 3) return ctx.fail(node, 'only [N,C,H,W] inputs are supported');
    const [, H, W] = x.shape;
    const [kh, kw] = node.getInts('kernel_shape', []);
    const pads = node.getInts('pads', [0, 0, 0, 0]);
    if (kh !== H || kw !== W || pads.some((p) => p !== 0) || node.getString('auto_pad', 'NOTSET') !== 'NOTSET') {
      return ctx.fail(node, 'only a window over the whole image (a global average) is supported');
    }
    globalAveragePool(node, ctx, x);
  },
});
