import { join } from 'node:path';
import { createWasmExecutor } from '@nibble/backend-wasm';
import { openDataset } from '@nibble/data';
import { readOnnx, readOnnxFile } from '@nibble/onnx';
import { describeWithWebGpu, workspaceRoot } from '@nibble/testing';
import { quantize } from 'nibble';
import { createWebGpuExecutor } from '@nibble/backend-webgpu';

/*
 * The zoo's ResNet-20 quantized w4a4 (recipe w4a4-all, target wasm: the
 * integer form both backends run), on the first Fashion-MNIST test images:
 * every activation's codes, the logits (bit for bit) and the predictions of
 * the WebGPU plan equal the WebAssembly backend's. Few images: SwiftShader
 * emulates the GPU on the CPU (about a second per image here);
 * exactness.ts beside this runs the many.
 */
const IMAGES = 16;

describeWithWebGpu('webgpu backend on the zoo ResNet-20 (w4a4-all)', () => {
  it(`gives the wasm backend's codes and predictions on ${IMAGES} test images`, async () => {
    const float = readOnnxFile(join(workspaceRoot(), 'models', 'fmnist-resnet20.onnx'));
    const { onnx } = await quantize(float, { recipe: 'w4a4-all', target: 'wasm', data: 'fashion-mnist:calib', samples: 16 });
    const qdq = readOnnx(onnx);
    const acts = qdq.graph.nodes.filter((n) => n.opType === 'QuantizeLinear' && !n.inputs[0]!.isInitializer).map((n) => n.outputs[0].name);
    const output = qdq.graph.outputs[0].name;
    const wasm = await createWasmExecutor(qdq, { extraOutputs: acts });
    const gpu = await createWebGpuExecutor(qdq, { extraOutputs: acts });
    let images = 0;
    let codes = 0;
    const ds = await openDataset('fashion-mnist:test');
    for await (const b of ds.batches({ batchSize: 8, limit: IMAGES })) {
      const feeds = { [qdq.graph.inputs[0].name]: b.inputs };
      const w = await wasm.run(feeds, [...acts, output]);
      const g = await gpu.run(feeds, [...acts, output]);
      for (const a of acts) {
        expect(g[a].dtype).toBe(w[a].dtype);
        expect(Buffer.from(g[a].data as Uint8Array).equals(Buffer.from(w[a].data as Uint8Array))).toBe(true);
        codes += w[a].size;
      }
      expect(Array.from(g[output].data as Float32Array)).toEqual(Array.from(w[output].data as Float32Array));
      images += b.inputs.shape[0];
    }
    expect(images).toBe(IMAGES);
    expect(codes).toBeGreaterThan(IMAGES * 100_000);
    // Every conv ran on the GPU's integer kernels, and the output quantizers were fused into them.
    const kernels = gpu.plan(qdq.graph.inputs[0].type!.shape!.slice(1) as number[]).steps.map((s) => s.kernel);
    expect(kernels.filter((k) => k === 'convGemm').length).toBe(qdq.graph.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm').length);
    await wasm.dispose();
    await gpu.dispose();
  }, 600_000);
});
