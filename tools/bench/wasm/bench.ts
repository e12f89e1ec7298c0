/*
 * The int4 WebAssembly backend against onnxruntime-web's wasm backend, batch 1,
 * one thread, same input, warm-up excluded, median (and p90) of --runs runs
 * (default 60). Not a test: timings on a shared machine move between runs, so
 * compare the ratios printed by one run of this script.
 *
 *   npx tsx tools/bench/wasm/bench.ts [--runs N] [--models a,b] [--json]
 *
 * Variants per zoo model: ours on the w4a4-baseline QDQ file (and w4a4-all),
 * onnxruntime-web wasm fp32 on the float model, onnxruntime-web wasm on an
 * int8 QDQ file (per-tensor 8-bit activations, 8-bit weights, onnxruntime's QDQ
 * fusions on: its integer kernels). Also prints our per-kernel profile.
 */
import { join } from 'node:path';
import { createWasmExecutor } from '@nibble/backend-wasm';
import { openDataset } from '@nibble/data';
import type { Model, Tensor } from '@nibble/ir';
import { readOnnx, readOnnxFile } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { quantize } from 'nibble';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(arg('runs') ?? 60);
const WARMUP = 10;
const MODELS = (arg('models') ?? 'fmnist-resnet20,fmnist-vgg,fmnist-mobilenetv2').split(',');
const JSON_OUT = process.argv.includes('--json');

const INT8 = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu,quant-policy{w-bits=8,a-bits=8,per-channel-activations=false},clip-minmax,quantize';

interface Timing { median: number; p90: number }

async function time(run: () => unknown): Promise<Timing> {
  for (let i = 0; i < WARMUP; i++) await run();
  const t: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await run();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { median: t[Math.floor(t.length / 2)], p90: t[Math.floor(t.length * 0.9)] };
}

async function main(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  const data = await openDataset('fashion-mnist:test');
  let x: Tensor | undefined;
  for await (const b of data.batches({ batchSize: 1, limit: 1 })) x = b.inputs;
  for (const name of MODELS) {
    const float = readOnnxFile(join(__dirname, '..', '..', '..', 'models', `${name}.onnx`));
    const q = async (opts: { recipe?: string; pipeline?: string }): Promise<Model> => readOnnx((await quantize(float, { ...opts, data: 'fashion-mnist:calib', samples: 32 })).onnx);
    const int4 = await q({ recipe: 'w4a4-baseline' });
    const int4all = await q({ recipe: 'w4a4-all' });
    const int8 = await q({ pipeline: INT8 });
    const feeds = { [float.graph.inputs[0].name]: x! };
    const ours = await createWasmExecutor(int4);
    const oursAll = await createWasmExecutor(int4all);
    const fp32 = await createOrtExecutor(float, { backend: 'web', threads: 1 });
    const i8 = await createOrtExecutor(int8, { backend: 'web', threads: 1, exactQdq: false });
    const r = {
      model: name,
      wasmInt4: await time(() => ours.runSync(feeds)),
      wasmInt4All: await time(() => oursAll.runSync(feeds)),
      ortWebFp32: await time(() => fp32.run(feeds)),
      ortWebInt8: await time(() => i8.run(feeds)),
    };
    ours.profiling = true;
    for (let i = 0; i < 20; i++) ours.runSync(feeds);
    const total = [...ours.profile.values()].reduce((a, b) => a + b, 0);
    const profile = Object.fromEntries([...ours.profile.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, `${((100 * v) / total).toFixed(1)}%`]));
    rows.push({ ...r, profile, stats: ours.stats.plans[0] });
    if (!JSON_OUT) {
      const f = (t: Timing): string => `${t.median.toFixed(2)} ms (p90 ${t.p90.toFixed(2)})`;
      console.log(`${name}: wasm int4 (w4a4-baseline) ${f(r.wasmInt4)}, wasm int4 (w4a4-all) ${f(r.wasmInt4All)}, ort-web fp32 ${f(r.ortWebFp32)}, ort-web int8 QDQ ${f(r.ortWebInt8)}`);
      console.log(`  speed-up of ours (baseline): ${(r.ortWebFp32.median / r.wasmInt4.median).toFixed(2)}x vs ort-web fp32, ${(r.ortWebInt8.median / r.wasmInt4.median).toFixed(2)}x vs ort-web int8 (>1 = ours faster)`);
      console.log(`  our time by kernel: ${JSON.stringify(profile)}; arena ${ours.stats.plans[0].arenaBytes} B, constants ${ours.stats.plans[0].constBytes} B`);
    }
    for (const e of [ours, oursAll, fp32, i8]) await e.dispose();
  }
  if (JSON_OUT) console.log(JSON.stringify(rows, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
