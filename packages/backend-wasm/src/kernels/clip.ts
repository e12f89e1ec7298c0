import { constantTensor } from '@nibble/ir';
import { registerKernel } from '../registry';
import { clampValue } from './clamp';

registerKernel({
  opType: 'Clip',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    const bound = (i: number, attr: string, dflt: number): number => {
      const v = node.inputs[i];
      if (!v) return node.getFloat(attr, dflt);
      const t = constantTensor(v);
      if (!t || t.size !== 1) return ctx.fail(node, `input ${i} must be a constant scalar`);
      return t.toFloat64()[0];
    };
    clampValue(ctx, node, x, bound(1, 'min', -Infinity), bound(2, 'max', Infinity));
  },
});
