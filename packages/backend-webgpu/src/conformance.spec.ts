import { createWasmExecutor } from '@nibble/backend-wasm';
import { buildCase, codesOf, CONFORMANCE_CASES, describeWithWebGpu } from '@nibble/testing';
import { createWebGpuExecutor } from './executor';

/*
 * The shared conformance cases: the WebGPU plan's integer codes and float32
 * outputs must equal the WebAssembly backend's, bit for bit, with and
 * without the packed 4x8 dot product, and with the conv/add output fetched
 * (the real value rebuilt on the host). The cases whose float64 arithmetic
 * sums several real terms (per-channel input scales within a group, a float
 * input, a bias-correction shift) run the wasm kernels' float64 operations
 * in emulated binary64 (f64.ts): the same bits too.
 */

describeWithWebGpu('webgpu kernels: conformance cases (identical to the wasm backend)', () => {
  it.each(CONFORMANCE_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const built = buildCase(c);
    const wasm = await createWasmExecutor(built.qdq);
    const w = (await wasm.run({ x: built.feed }))[wasm.outputNames[0]];
    const wasmCodes = codesOf(w.toFloat64(), w.shape, built.output);
    for (const dot4 of [true, false]) {
      const gpu = await createWebGpuExecutor(built.qdq, { dot4 });
      const g = (await gpu.run({ x: built.feed }))[gpu.outputNames[0]];
      expect(Array.from(codesOf(g.toFloat64(), g.shape, built.output))).toEqual(Array.from(wasmCodes));
      expect(Array.from(g.data as Float32Array)).toEqual(Array.from(w.data as Float32Array));
      await gpu.dispose();
    }
    expect(Array.from(wasmCodes)).toEqual(Array.from(built.expectedCodes));
    await wasm.dispose();
    // A conv or add fetched before its QuantizeLinear: no fusion, its real value rebuilt on the host from the GPU's integers.
    const op = built.qdq.graph.nodes.find((n) => n.name === 'op');
    if (op?.opType === 'Conv' || op?.opType === 'Gemm' || op?.opType === 'Add') {
      const extra = [op.outputs[0].name];
      const plainWasm = await createWasmExecutor(built.qdq, { extraOutputs: extra });
      const plainGpu = await createWebGpuExecutor(built.qdq, { extraOutputs: extra });
      const fetch = [plainGpu.outputNames[0], ...extra];
      const a = await plainWasm.run({ x: built.feed }, fetch);
      const b = await plainGpu.run({ x: built.feed }, fetch);
      for (const n of fetch) expect(Array.from(b[n].data as Float32Array)).toEqual(Array.from(a[n].data as Float32Array));
      await plainWasm.dispose();
      await plainGpu.dispose();
    }
    // The first case of the float64 conv compiles its shader (binary64 emulation): seconds on SwiftShader.
  }, 60_000);

  it('names the op and the way out when a model has an op without a kernel', async () => {
    const built = buildCase(CONFORMANCE_CASES[0]);
    (built.qdq.graph.nodes.find((n) => n.name === 'op') as unknown as { opType: string }).opType = 'LpNormalization';
    const gpu = await createWebGpuExecutor(built.qdq);
    await expect(gpu.run({ x: built.feed })).rejects.toMatchObject({ code: 'E_UNSUPPORTED_OP', hint: expect.stringMatching(/--backend/) });
  });
});
