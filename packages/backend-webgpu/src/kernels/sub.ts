import { registerKernel } from '../registry';
import { constantOf, emitElementwise, REAL_OP } from './elementwise';

/** Sub with a constant operand: a table on codes, channelOpReal's float64 difference on real values. */
registerKernel({
  opType: 'Sub',
  compile(node, ctx) {
    emitElementwise(ctx, node, ([a, b]) => Math.fround(a - b), (ops, r) => {
      const c = constantOf(ops, r);
      return c && { op: r === 0 ? REAL_OP.sub : REAL_OP.rsub, a: c };
    });
  },
});
