import { registerKernel } from '../registry';
import { emitElementwise, REAL_OP } from './elementwise';

/**
 * HardSigmoid max(0, min(1, alpha * x + beta)) (PP-OCR's squeeze-and-excitation gate): on codes
 * the wasm plan's float32 table (the product rounded, then the sum, as onnxruntime's CPU kernel).
 */
registerKernel({
  opType: 'HardSigmoid',
  compile(node, ctx) {
    const alpha = Math.fround(node.getFloat('alpha', 0.2));
    const beta = Math.fround(node.getFloat('beta', 0.5));
    emitElementwise(ctx, node, ([x]) => Math.max(0, Math.min(1, Math.fround(Math.fround(alpha * x) + beta))), () => ({ op: REAL_OP.hardSigmoid, a: Float64Array.of(alpha), b: Float64Array.of(beta) }));
  },
});
