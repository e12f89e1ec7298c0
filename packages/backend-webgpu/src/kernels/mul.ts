import { registerKernel } from '../registry';
import { channelScale } from './channel-scale';
import { constantOf, emitElementwise, REAL_OP } from './elementwise';

/** Mul: of a codes value by constants (a table), or by a runtime value per channel (squeeze-and-excitation, channel-scale.ts). */
registerKernel({
  opType: 'Mul',
  compile(node, ctx) {
    if (channelScale(ctx, node)) return;
    emitElementwise(ctx, node, ([a, b]) => Math.fround(a * b), (ops, r) => {
      const c = constantOf(ops, r);
      return c && { op: REAL_OP.mul, a: c };
    });
  },
});
