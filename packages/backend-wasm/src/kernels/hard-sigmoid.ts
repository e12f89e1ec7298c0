import { registerKernel } from '../registry';
import { emitElementwise, OP } from './elementwise';

/**
 * HardSigmoid max(0, min(1, alpha * x + beta)) (PP-OCR's squeeze-and-excitation gate). In
 * float32 as onnxruntime's CPU kernel computes it: the product rounded, then the sum (no fused
 * multiply-add; the spec checks this against onnxruntime).
 */
registerKernel({
  opType: 'HardSigmoid',
  compile(node, ctx) {
    const alpha = Math.fround(node.getFloat('alpha', 0.2));
    const beta = Math.fround(node.getFloat('beta', 0.5));
    emitElementwise(ctx, node, ([x]) => Math.max(0, Math.min(1, Math.fround(Math.fround(alpha * x) + beta))), () => ({ op: OP.HARD_SIGMOID, a: Float64Array.of(alpha), b: Float64Array.of(beta) }));
  },
});
