import { registerKernel } from '../registry';
import { emitElementwise, OP } from './elementwise';

/**
 * Sigmoid 1 / (1 + exp(-x)) (the detector's probability map). Computed in float64 and rounded
 * to float32: onnxruntime's CPU kernel uses MLAS's own rational approximation of the logistic,
 * which this does not reproduce bit for bit (it differs from the rounded exact value by a few
 * float32 ulps; a QuantizeLinear reading it may round a code apart at a tie, counted by the
 * exactness tools).
 */
registerKernel({
  opType: 'Sigmoid',
  compile(node, ctx) {
    emitElementwise(ctx, node, ([x]) => Math.fround(1 / (1 + Math.exp(-x))), () => ({ op: OP.SIGMOID, a: Float64Array.of(0) }));
  },
});
