import { registerKernel } from '../registry';
import { constantOf, emitElementwise, REAL_OP } from './elementwise';

/** Div (hard-swish's / 6): a table on codes, channelOpReal's float64 division on real values. */
registerKernel({
  opType: 'Div',
  compile(node, ctx) {
    emitElementwise(ctx, node, ([a, b]) => Math.fround(a / b), (ops, r) => {
      const c = constantOf(ops, r);
      return c && { op: r === 0 ? REAL_OP.div : REAL_OP.rdiv, a: c };
    });
  },
});
