/*
 * Exactness of the wasm backend against onnxruntime's exact QDQ simulation,
 * per activation code (compare-codes.ts), on the zoo models:
 *
 *   npx tsx tools/bench/wasm/exactness.ts [--images N] [--models a,b] [--recipes r1,r2] [--target wasm|sim]
 *
 * Target `wasm` (per-tensor codes: the integer kernels) by default; `sim`
 * runs the paper's per-channel activation scales (the per-segment kernels).
 */
import { join } from 'node:path';
import { readOnnx, readOnnxFile } from '@nibble/onnx';
import { quantize, workspaceRoot } from 'nibble';
import { compareCodes } from './compare-codes';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};

async function main(): Promise<void> {
  const images = Number(arg('images', '200'));
  const target = arg('target', 'wasm');
  for (const model of arg('models', 'fmnist-resnet20,fmnist-vgg,fmnist-mobilenetv2').split(',')) {
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
