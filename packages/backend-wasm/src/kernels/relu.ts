import { registerKernel } from '../registry';
import { clampValue } from './clamp';

registerKernel({
  opType: 'Relu',
  compile(node, ctx) {
    clampValue(ctx, node, ctx.inputLazy(node, 0), 0, Infinity);
  },
});
