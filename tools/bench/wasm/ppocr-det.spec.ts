import { compareCodesOn } from './compare-codes';
import { detSetup, quantizeDet } from './ppocr-det';

/*
 * PP-OCRv4's text detector on the wasm backend end to end, at 160x160 for
 * time (the figures at 640 are in docs/benchmarks.md): quantized with
 * w4a4-baseline for target `wasm`, every activation's codes against
 * onnxruntime's exact QDQ simulation on one scene. Every conv runs on
 * integers (Winograd for the head's 3x3 convs), every elementwise op as a
 * table; a differing code must sit at a rounding tie of the simulation or
 * follow one, and the probability map must be the simulation's up to the
 * Sigmoid's last float32 bits.
 */
it('PP-OCRv4 det for target wasm: codes = onnxruntime QDQ simulation except counted ties, map within float32 ulps', async () => {
  const setup = await detSetup(160);
  const qdq = await quantizeDet(setup, 'w4a4-baseline', 'wasm');
  const r = await compareCodesOn(qdq, setup.tests.slice(0, 1));
  const sqnr = 10 * Math.log10(r.output.signal / r.output.noise);
  console.log(`ppocr det 160 target wasm: ${r.codes} codes, ${r.ties} ties, ${r.downstream} downstream, ${r.unexplained} unexplained, map ${sqnr.toFixed(1)} dB, max |diff| ${r.output.maxAbs}`);
  expect(r.kernels).toEqual(expect.arrayContaining(['mapCodes', 'channelScale', 'resizeNearest', 'depthToSpace', 'winogradConv', 'convGemm', 'convDepthwise', 'lookupReal']));
  expect(r.kernels).not.toContain('convReal');
  expect(r.kernels).not.toContain('convCodes');
  expect(r.unexplained).toBe(0);
  expect(r.ties).toBeLessThanOrEqual(r.codes * 1e-5);
  expect(r.output.maxAbs).toBeLessThan(1e-6);
}, 120_000);
