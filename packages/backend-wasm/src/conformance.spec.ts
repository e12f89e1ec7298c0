import { createOrtExecutor } from '@nibble/runtime';
import { createWasmExecutor } from './executor';
import { buildCase, codesOf, CONFORMANCE_CASES } from '@nibble/testing';

/*
 * Every kernel against the float64 reference of the quantized semantics:
 * the integer codes the wasm plan produces must equal the reference's,
 * exactly (no tolerance: the kernels compute the same real numbers to
 * within float64 rounding, and none of these cases sits on a rounding tie).
 * onnxruntime's QDQ simulation (float32) runs beside as a cross-check.
 */
describe('wasm kernels: conformance cases (float64 reference)', () => {
  it.each(CONFORMANCE_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const built = buildCase(c);
    const wasm = await createWasmExecutor(built.qdq);
    const out = await wasm.run({ x: built.feed });
    const y = out[wasm.outputNames[0]];
    const codes = codesOf(y.toFloat64(), y.shape, built.output);
    expect(Array.from(codes)).toEqual(Array.from(built.expectedCodes));
    // The codes are not all one level (the case exercises the grid).
    expect(new Set(codes).size).toBeGreaterThan(1);
    const ort = await createOrtExecutor(built.qdq);
    const o = await ort.run({ x: built.feed });
    const ortCodes = codesOf(o[ort.outputNames[0]].toFloat64(), y.shape, built.output);
    const differing = ortCodes.filter((q, i) => q !== codes[i]).length;
    expect(differing).toBeLessThanOrEqual(1);
    await ort.dispose();
    await wasm.dispose();
    // A conv or add fetched before its QuantizeLinear writes float64 (no fusion); the codes are the same.
    const op = built.qdq.graph.nodes.find((n) => n.name === 'op');
    if (op?.opType === 'Conv' || op?.opType === 'Gemm' || op?.opType === 'Add') {
      const plain = await createWasmExecutor(built.qdq, { extraOutputs: [op.outputs[0].name] });
      const o2 = await plain.run({ x: built.feed });
      const codes2 = codesOf(o2[plain.outputNames[0]].toFloat64(), y.shape, built.output);
      expect(Array.from(codes2)).toEqual(Array.from(built.expectedCodes));
      await plain.dispose();
    }
  });
});
