import { registerKernel } from '../registry';
import { constantOf, emitElementwise, OP } from './elementwise';

/** Sub with a constant operand: a table on codes, float64 on real values. */
registerKernel({
  opType: 'Sub',
  compile(node, ctx) {
    emitElementwise(ctx, node, ([a, b]) => Math.fround(a - b), (ops, r) => {
      const c = constantOf(ops, r);
      return c && { op: r === 0 ? OP.SUB : OP.RSUB, a: c };
    });
  },
});
