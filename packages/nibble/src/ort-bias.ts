import { definePass, registerPass } from '@nibble/core';
import { alignBiasesToOrt } from '@nibble/onnx';

/**
 * ort-bias: the last step of the `ort` target. onnxruntime quantizes each
 * float bias of a QDQ Conv/ConvTranspose/Gemm (and of the Add after a MatMul,
 * which it first fuses into a Gemm) to int32 at s_in * s_w before
 * it runs the file (its WeightBiasQuantization rewrite, on by default); this
 * pass gives the IR's layers the bias onnxruntime then adds, chosen so that
 * the rewrite leaves it unchanged, and the simulation of the constrained
 * scheme computes what onnxruntime computes (@nibble/onnx ort-bias.ts).
 */
export const ortBiasPass = definePass({
  name: 'ort-bias',
  summary: 'give each Conv/ConvTranspose/Gemm (and MatMul + Add) the bias onnxruntime adds after quantizing it to int32 at s_in * s_w',
  run(graph, ctx) {
    const layers = alignBiasesToOrt(graph);
    ctx.report.record('aligned', { layers });
    return { graph, modified: layers > 0 };
  },
});
registerPass(ortBiasPass);
