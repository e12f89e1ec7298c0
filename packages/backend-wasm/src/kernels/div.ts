import { registerKernel } from '../registry';
import { constantOf, emitElementwise, OP } from './elementwise';

/** Div (hard-swish's / 6): a table on codes, float64 on real values. */
registerKernel({
  opType: 'Div',
  compile(node, ctx) {
    emitElementwise(ctx, node, ([a, b]) => Math.fround(a / b), (ops, r) => {
      const c = constantOf(ops, r);
      return c && { op: r === 0 ? OP.DIV : OP.RDIV, a: c };
    });
  },
});
