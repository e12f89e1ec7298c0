import { registerKernel } from '../registry';
import { emitElementwise, REAL_OP } from './elementwise';

/**
 * Sigmoid (the detector's probability map): on codes the wasm plan's table, 1 / (1 + exp(-x)) in
 * float64 rounded to float32, computed on the host by both backends (so identical); on real values
 * the float64 op after the value (elementwise.ts).
 */
registerKernel({
  opType: 'Sigmoid',
  compile(node, ctx) {
    emitElementwise(ctx, node, ([x]) => Math.fround(1 / (1 + Math.exp(-x))), () => ({ op: REAL_OP.sigmoid, a: Float64Array.of(0) }));
  },
});
