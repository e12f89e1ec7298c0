/*
 * The int4 WebAssembly backend against the runtimes a web developer would
 * otherwise use, batch 1, one thread, same input, warm-up excluded, median
 * (and p90) of --runs runs (default 60). Not a test: timings on a shared
 * machine move between runs, so the variants are timed round-robin (one run
 * of each in turn) and only the ratios printed by one run of this script are
 * compared.
 *
 *   npx tsx tools/bench/wasm/bench.ts [--runs N] [--models a,b] [--json]
 *   npx tsx tools/bench/wasm/bench.ts --models ppocr-det [--side 640] [--runs N]
 *
 * Models: the three zoo models (one Fashion-MNIST test image) and nsfwjs
 * MobileNetV2 (224x224, one bundled photo; run tools/bench/pretrained/export-nsfwjs.ts
 * first). Variants: ours on the `wasm` target's QDQ file (w4a4-baseline: per-tensor
 * 4-bit codes, every conv on integers) and on the `sim` file of w4a4-all (per-channel
 * activation scales: the exact per-segment path); onnxruntime-web wasm fp32 and int8 QDQ
 * (8-bit per-channel weights, 8-bit per-tensor activations, its QDQ fusions on);
 * TF.js wasm fp32; onnxruntime-node fp32 (native MLAS). Also prints our per-kernel profile.
 *
 * ppocr-det: PP-OCRv4's text detector (ppocr-det.ts) at --side x --side (default 640, the
 * issue's size), calibrated on data/text/det-calib, timed on the first scene of
 * data/text/scenes. Ours runs the `wasm` target's files of w4a4-baseline and w4a4-all (the
 * `sim` file's per-channel activation scales take the per-segment and float64 kernels, the
 * slow path, and are not timed there); no TF.js model exists for it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createWasmExecutor } from '@nibble/backend-wasm';
import { openDataset } from '@nibble/data';
import type { Tensor } from '@nibble/ir';
import { readOnnx } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { INT8_QDQ_PIPELINE, loadModel, quantize, tfjsWasmRunner, type Timing, timeRoundRobin, workspaceRoot } from 'nibble';
import { detBench } from './ppocr-det';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(arg('runs') ?? 60);
const SIDE = Number(arg('side') ?? 640);
const WARMUP = 10;
const MODELS = (arg('models') ?? 'fmnist-resnet20,fmnist-vgg,fmnist-mobilenetv2,nsfwjs-mobilenetv2').split(',');
const JSON_OUT = process.argv.includes('--json');
const ROOT = workspaceRoot();


interface Source { model: string; tfjsDir: string; data: string; preprocess?: string; calib: string }

function source(name: string): Source {
  if (name === 'nsfwjs-mobilenetv2') {
    const dir = join(ROOT, 'out', 'nsfwjs-mobilenetv2');
    if (!existsSync(join(dir, 'model.json'))) throw new Error(`${dir}/model.json is missing: run npx tsx tools/bench/pretrained/export-nsfwjs.ts`);
    const photos = (split: string): string => `images:${join(ROOT, 'data', 'photos', split)}`;
    return { model: join(dir, 'model.json'), tfjsDir: dir, data: photos('heldout'), preprocess: 'rgb,resize=224x224,unit', calib: photos('calib') };
  }
  return { model: join(ROOT, 'models', `${name}.onnx`), tfjsDir: join(ROOT, 'models', 'tfjs', name), data: 'fashion-mnist:test', calib: 'fashion-mnist:calib' };
}

async function main(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  for (const name of MODELS) {
    if (name === 'ppocr-det') {
      rows.push(await detBench(SIDE, RUNS, WARMUP, JSON_OUT));
      continue;
    }
    const src = source(name);
    const float = await loadModel(src.model);
    const data = await openDataset(src.data, src.preprocess ? { preprocess: src.preprocess } : {});
    let x: Tensor | undefined;
    for await (const b of data.batches({ batchSize: 1, limit: 1 })) x = b.inputs;
    const q = async (opts: { recipe?: string; pipeline?: string; target?: string }) => quantize(float, { ...opts, data: src.calib, ...(src.preprocess ? { preprocess: src.preprocess } : {}), samples: 16 } as never);
    const int4 = await q({ recipe: 'w4a4-baseline', target: 'wasm' });
    const int4all = await q({ recipe: 'w4a4-all' });
    const int8 = await q({ pipeline: INT8_QDQ_PIPELINE });
    const feeds = { [float.graph.inputs[0].name]: x! };
    const ours = await createWasmExecutor(readOnnx(int4.onnx));
    const oursAll = await createWasmExecutor(readOnnx(int4all.onnx));
    const ortFp32 = await createOrtExecutor(float, { backend: 'web', threads: 1 });
    const ortInt8 = await createOrtExecutor(readOnnx(int8.onnx), { backend: 'web', threads: 1, exactQdq: false });
    const native = await createOrtExecutor(float, { backend: 'node', threads: 1 });
    const tfjs = await tfjsWasmRunner(join(src.tfjsDir, 'model.json'), x!);
    const r = await timeRoundRobin({
      wasmInt4: () => ours.runSync(feeds),
      wasmInt4PerChannel: () => oursAll.runSync(feeds),
      ortWebFp32: () => ortFp32.run(feeds),
      ortWebInt8: () => ortInt8.run(feeds),
      tfjsWasmFp32: tfjs,
      ortNodeFp32: () => native.run(feeds),
    }, RUNS, WARMUP);
    ours.profiling = true;
    for (let i = 0; i < 20; i++) ours.runSync(feeds);
    const total = [...ours.profile.values()].reduce((a, b) => a + b, 0);
    const profile = Object.fromEntries([...ours.profile.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, `${((100 * v) / total).toFixed(1)}%`]));
    const stats = ours.stats.plans[0];
    const weights = { fp32Bytes: int4.report.sizeBytes.float, meanBits: int4.report.meanBits.weights, oursBytes: stats.weightBytes };
    const ratio = (peer: string): number => r[peer].median / r.wasmInt4.median;
    const ratios = { vsOrtWebFp32: ratio('ortWebFp32'), vsOrtWebInt8: ratio('ortWebInt8'), vsTfjsWasmFp32: ratio('tfjsWasmFp32'), vsOrtNodeFp32: ratio('ortNodeFp32') };
    rows.push({ model: name, timings: r, ratios, profile, stats, weights });
    if (!JSON_OUT) {
      const f = (t: Timing): string => `${t.median.toFixed(2)} ms (p90 ${t.p90.toFixed(2)})`;
      console.log(`${name}: ${Object.entries(r).map(([k, t]) => `${k} ${f(t)}`).join(', ')}`);
      console.log(`  ours (wasm int4) is ${Object.entries(ratios).map(([k, v]) => `${v.toFixed(2)}x ${k.slice(2)}`).join(', ')} (>1 = ours faster)`);
      console.log(`  our time by kernel: ${JSON.stringify(profile)}`);
      console.log(`  arena ${stats.arenaBytes} B + scratch ${stats.scratchBytes} B; weights ${stats.weightBytes} B (fp32 ${weights.fp32Bytes} B, mean ${weights.meanBits} bits)`);
    }
    for (const e of [ours, oursAll, ortFp32, ortInt8, native]) await e.dispose();
  }
  if (JSON_OUT) console.log(JSON.stringify(rows, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
