/*
 * Exactness of the wasm backend against onnxruntime's exact QDQ simulation,
 * per activation code (compare-codes.ts), on the zoo models:
 *
 *   npx tsx tools/bench/wasm/exactness.ts [--images N] [--models a,b] [--recipes r1,r2] [--target wasm|sim]
 *
 * Target `wasm` (per-tensor codes: the integer kernels) by default; `sim`
 * runs the paper's per-channel activation scales (the per-segment kernels).
 *
 *   npx tsx tools/bench/wasm/exactness.ts --models ppocr-det [--side 640] [--images N] [--recipes ...] [--target wasm|sim]
 *
 * PP-OCRv4's text detector (ppocr-det.ts): calibrated on data/text/det-calib,
 * compared on the scenes of data/text/scenes (4 images) resized to side x side;
 * also the SQNR of the probability map (the graph's float output) against
 * the simulation's, and how many of its float32 values differ.
 */
import { join } from 'node:path';
import { readOnnx, readOnnxFile } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { quantize, workspaceRoot } from 'nibble';
import { compareCodes, compareCodesOn } from './compare-codes';
import { detSetup, quantizeDet } from './ppocr-det';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};

async function main(): Promise<void> {
  const images = Number(arg('images', '200'));
  const target = arg('target', 'wasm');
  for (const model of arg('models', 'fmnist-resnet20,fmnist-vgg,fmnist-mobilenetv2').split(',')) {
    if (model === 'ppocr-det') {
      const side = Number(arg('side', '640'));
      const setup = await detSetup(side);
      const tests = setup.tests.slice(0, images);
      const float = await createOrtExecutor(setup.model);
      const floatOutputs: Float64Array[] = [];
      for (const x of tests) floatOutputs.push((await float.run({ [float.inputNames[0]]: x }))[float.outputNames[0]].toFloat64());
      await float.dispose();
      for (const recipe of arg('recipes', 'w4a4-baseline,w4a4-all,w3a3-all').split(',')) {
        const t0 = performance.now();
        const r = await compareCodesOn(await quantizeDet(setup, recipe, target), tests, floatOutputs);
        const sqnr = 10 * Math.log10(r.output.signal / r.output.noise);
        const n = (v: number): string => v.toLocaleString('en-US');
        console.log(`| PP-OCRv4 det ${side}x${side} | ${recipe} | ${target} | ${r.images} | ${n(r.codes)} | ${r.ties} | ${r.downstream} | ${r.unexplained} | ${sqnr.toFixed(1)} dB | ${n(r.output.differing)} of ${n((r.images * side * side))} (max ${r.output.maxAbs.toExponential(1)}) | ${r.output.perSample.map((p) => `${p.sqnrDb.toFixed(1)} (${n(p.differingCodes)})`).join(', ')} | ${r.output.vsFloat!.simDb.toFixed(1)} / ${r.output.vsFloat!.oursDb.toFixed(1)} dB | ${((performance.now() - t0) / 1000).toFixed(0)} s |`);
      }
      continue;
    }
    const float = readOnnxFile(join(workspaceRoot(), 'models', `${model}.onnx`));
    for (const recipe of arg('recipes', 'w4a4-baseline,w4a4-all,w3a3-all').split(',')) {
      const { onnx } = await quantize(float, { recipe, target, data: 'fashion-mnist:calib', samples: 32 });
      const r = await compareCodes(readOnnx(onnx), 'fashion-mnist:test', images);
      console.log(`| ${model} | ${recipe} | ${target} | ${r.images} | ${r.codes} | ${r.ties} | ${r.downstream} | ${r.unexplained} | ${((100 * r.sameTop1) / r.images).toFixed(1)} % | ${r.kernels.filter((k) => k.startsWith('conv') || k.includes('Gemm')).join(', ')} |`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
