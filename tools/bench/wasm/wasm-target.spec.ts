import { join } from 'node:path';
import { readOnnx, readOnnxFile } from '@nibble/onnx';
import { quantize } from 'nibble';
import { compareCodes } from './compare-codes';

/*
 * The integer fast path end to end: fmnist-mobilenetv2 quantized for target
 * `wasm` (w4a4-baseline: per-tensor 4-bit codes, the residual stream and the
 * input at 8 bits), so every conv runs in the int32 kernels (1x1 as a matrix
 * product on the codes, depthwise, the stem from its padded planes) with its
 * QuantizeLinear fused, and residual Adds on codes. Every activation's codes
 * are compared with onnxruntime's exact QDQ simulation (float32) on 40 test
 * images (compare-codes.ts): a differing code must sit at a rounding tie of
 * the simulation or follow one in the same sample. ~40 s on the loaded 2-core machine.
 */
it('fmnist-mobilenetv2 for target wasm: integer kernels = onnxruntime QDQ simulation except counted ties', async () => {
  const float = readOnnxFile(join(__dirname, '..', '..', '..', 'models', 'fmnist-mobilenetv2.onnx'));
  const { onnx } = await quantize(float, { recipe: 'w4a4-baseline', target: 'wasm', data: 'fashion-mnist:calib', samples: 32 });
  const r = await compareCodes(readOnnx(onnx), 'fashion-mnist:test', 40);
  console.log(`mobilenetv2 target wasm: ${JSON.stringify(r)}`);
  expect(r.images).toBe(40);
  // Every conv ran in the integer kernels (none in the float64 or per-segment ones), residual sums on codes.
  expect(r.kernels).toEqual(expect.arrayContaining(['convGemm', 'convDepthwise', 'taps+convGemm', 'addCodes']));
  expect(r.kernels).not.toContain('convReal');
  expect(r.kernels).not.toContain('convCodes');
  expect(r.unexplained).toBe(0);
  expect(r.ties).toBeLessThanOrEqual(r.codes * 1e-5);
  expect(r.sameTop1 / r.images).toBeGreaterThanOrEqual(0.999);
}, 180_000);
