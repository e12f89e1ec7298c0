import { registerKernel } from '../registry';
import { clampValue } from './clamp';

registerKernel({
  opType: 'Relu',
  compile(node, ctx) {
    clampValue(ctx, node, ctx.input(node, 0), 0, Infinity);
  },
});
