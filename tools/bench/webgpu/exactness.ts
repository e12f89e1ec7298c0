/*
 * The WebGPU backend against the WebAssembly backend (integer codes of every
 * activation, and the float32 outputs, bit for bit) and against onnxruntime's
 * QDQ simulation (top-1), on the zoo models and nsfwjs MobileNetV2:
 *
 *   npx tsx tools/bench/webgpu/exactness.ts [--images N] [--offset K] [--models a,b] [--recipe r] [--batch B] [--json out.json]
 *
 * Each model is quantized with the recipe (default w4a4-all) for target
 * `wasm` (per-tensor activation codes: every conv on integers, the form both
 * integer backends run). Progress is printed per batch and the JSON file is
 * rewritten after each, so a run cut short still leaves its counts;
 * --offset starts at test image K (runs over disjoint images add up). Timings
 * are a smoke figure: on a software adapter (SwiftShader) they measure a CPU
 * emulation of a GPU, and they are labelled so.
 *
 *   npx tsx tools/bench/webgpu/exactness.ts --outputs-only [--batch 64] [--images 10000] [--progress out/webgpu-outputs.jsonl] [--dot4 off] ...
 *
 * compares only the graph outputs (outputs-only.ts): fast enough for the
 * whole test split, resumable from the progress file (one line per batch).
 * --dot4 off runs the conv's plain int32 multiply-adds where the adapter
 * has dot4U8Packed (SwiftShader emulates it: 1.75x slower on ResNet-20).
 *
 *   npx tsx tools/bench/webgpu/exactness.ts --models ppocr-det [--side 640] [--images 1] [--recipe w4a4-baseline]
 *
 * PP-OCRv4's text detector (tools/bench/wasm/ppocr-det.ts: calibrated on
 * data/text/det-calib, the scenes of data/text/scenes resized to side x
 * side), for target `wasm`: every activation's codes and the probability
 * map against the WebAssembly backend's (no top-1: the map is the output).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWasmExecutor } from '@nibble/backend-wasm';
import { createWebGpuExecutor } from '@nibble/backend-webgpu';
import { openDataset } from '@nibble/data';
import { readOnnx } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { loadModel, quantize, workspaceRoot } from 'nibble';
import { detSetup, quantizeDet } from '../wasm/ppocr-det';
import { measureOutputs } from './outputs-only';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const ROOT = workspaceRoot();

interface Source { model: string; data: string; preprocess?: string; calib: string }

function source(name: string): Source {
  if (name === 'nsfwjs-mobilenetv2') {
    const dir = join(ROOT, 'out', 'nsfwjs-mobilenetv2');
    if (!existsSync(join(dir, 'model.json'))) throw new Error(`${dir}/model.json is missing: run npx tsx tools/bench/pretrained/export-nsfwjs.ts`);
    const photos = (split: string): string => `images:${join(ROOT, 'data', 'photos', split)}`;
    return { model: join(dir, 'model.json'), data: photos('heldout'), preprocess: 'rgb,resize=224x224,unit', calib: photos('calib') };
  }
  return { model: join(ROOT, 'models', `${name}.onnx`), data: 'fashion-mnist:test', calib: 'fashion-mnist:calib' };
}

const argmax = (v: ArrayLike<number>, from: number, n: number): number => {
  let b = 0;
  for (let i = 1; i < n; i++) if (v[from + i] > v[from + b]) b = i;
  return b;
};

export interface WebGpuAgreement {
  model: string;
  /** The first test image. */
  offset: number;
  recipe: string;
  adapter: string;
  software: boolean;
  dot4: boolean;
  images: number;
  /** Activation codes compared, and those that differ from the wasm backend's. */
  codes: number;
  codesDiffering: number;
  /** Graph output values (float32) that differ from the wasm backend's in any bit. */
  outputsDiffering: number;
  /** Top-1 equal to onnxruntime's QDQ simulation, for webgpu and for wasm. */
  sameTop1Sim: number;
  sameTop1SimWasm: number;
  /** Milliseconds per image (batch run, wall clock), smoke figures. */
  msPerImageWebGpu: number;
  msPerImageWasm: number;
}

async function measure(name: string, recipe: string, images: number, offset: number, batch: number, report: (r: WebGpuAgreement) => void): Promise<WebGpuAgreement> {
  const src = source(name);
  const float = await loadModel(src.model);
  const { onnx } = await quantize(float, { recipe, target: 'wasm', data: src.calib, ...(src.preprocess ? { preprocess: src.preprocess } : {}), samples: 32 } as never);
  const qdq = readOnnx(onnx);
  const acts = qdq.graph.nodes.filter((n) => n.opType === 'QuantizeLinear' && !n.inputs[0]!.isInitializer).map((n) => n.outputs[0].name);
  const output = qdq.graph.outputs[0].name;
  const fetch = [...acts, output];
  const wasm = await createWasmExecutor(qdq, { extraOutputs: acts });
  const gpu = await createWebGpuExecutor(qdq, { extraOutputs: acts });
  const sim = await createOrtExecutor(qdq);
  const r: WebGpuAgreement = {
    model: name, offset, recipe, adapter: gpu.adapterName, software: gpu.gpu.software, dot4: gpu.gpu.dot4,
    images: 0, codes: 0, codesDiffering: 0, outputsDiffering: 0, sameTop1Sim: 0, sameTop1SimWasm: 0, msPerImageWebGpu: 0, msPerImageWasm: 0,
  };
  let tGpu = 0, tWasm = 0;
  try {
    const ds = await openDataset(src.data, src.preprocess ? { preprocess: src.preprocess } : {});
    const end = Math.min(ds.length, offset + images);
    for (let start = offset; start < end; start += batch) {
      const b = await ds.batch(Array.from({ length: Math.min(batch, end - start) }, (_, i) => start + i));
      const feeds = { [qdq.graph.inputs[0].name]: b.inputs };
      let t0 = performance.now();
      const g = await gpu.run(feeds, fetch);
      tGpu += performance.now() - t0;
      t0 = performance.now();
      const w = await wasm.run(feeds, fetch);
      tWasm += performance.now() - t0;
      const s = await sim.run(feeds);
      for (const a of acts) {
        const x = w[a].data as Uint8Array, y = g[a].data as Uint8Array;
        r.codes += x.length;
        for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) r.codesDiffering++;
      }
      const ow = w[output].data as Float32Array, og = g[output].data as Float32Array, os = s[output].toFloat64();
      for (let i = 0; i < ow.length; i++) if (!Object.is(ow[i], og[i])) r.outputsDiffering++;
      const n = b.inputs.shape[0];
      const k = ow.length / n;
      for (let j = 0; j < n; j++) {
        const top = argmax(os, j * k, k);
        if (argmax(og, j * k, k) === top) r.sameTop1Sim++;
        if (argmax(ow, j * k, k) === top) r.sameTop1SimWasm++;
      }
      r.images += n;
      r.msPerImageWebGpu = tGpu / r.images;
      r.msPerImageWasm = tWasm / r.images;
      report(r);
    }
  } finally {
    await gpu.dispose();
    await wasm.dispose();
    await sim.dispose();
  }
  return r;
}

/** The detector's activation codes and probability map, WebGPU against WebAssembly, one image at a time. */
async function measureDet(side: number, recipe: string, images: number): Promise<WebGpuAgreement> {
  const setup = await detSetup(side);
  const qdq = await quantizeDet(setup, recipe, 'wasm');
  const acts = qdq.graph.nodes.filter((n) => n.opType === 'QuantizeLinear' && !n.inputs[0]!.isInitializer).map((n) => n.outputs[0].name);
  const output = qdq.graph.outputs[0].name;
  const wasm = await createWasmExecutor(qdq, { extraOutputs: acts });
  const gpu = await createWebGpuExecutor(qdq, { extraOutputs: acts });
  const r: WebGpuAgreement = {
    model: `ppocr-det-${side}`, offset: 0, recipe, adapter: gpu.adapterName, software: gpu.gpu.software, dot4: gpu.gpu.dot4,
    images: 0, codes: 0, codesDiffering: 0, outputsDiffering: 0, sameTop1Sim: 0, sameTop1SimWasm: 0, msPerImageWebGpu: 0, msPerImageWasm: 0,
  };
  let tGpu = 0, tWasm = 0;
  try {
    for (const x of setup.tests.slice(0, images)) {
      const feeds = { [qdq.graph.inputs[0].name]: x };
      let t0 = performance.now();
      const g = await gpu.run(feeds, [...acts, output]);
      tGpu += performance.now() - t0;
      t0 = performance.now();
      const w = await wasm.run(feeds, [...acts, output]);
      tWasm += performance.now() - t0;
      for (const a of acts) {
        const cw = w[a].toFloat64(), cg = g[a].toFloat64();
        r.codes += cw.length;
        for (let i = 0; i < cw.length; i++) if (cw[i] !== cg[i]) r.codesDiffering++;
      }
      const ow = w[output].data as Float32Array, og = g[output].data as Float32Array;
      for (let i = 0; i < ow.length; i++) if (!Object.is(ow[i], og[i])) r.outputsDiffering++;
      r.images++;
    }
  } finally {
    await gpu.dispose();
    await wasm.dispose();
  }
  // With every activation fetched (slower than a plain run: a smoke figure).
  r.msPerImageWebGpu = tGpu / r.images;
  r.msPerImageWasm = tWasm / r.images;
  return r;
}

async function main(): Promise<void> {
  const images = Number(arg('images', '1000'));
  const offset = Number(arg('offset', '0'));
  const batch = Number(arg('batch', '8'));
  const recipe = arg('recipe', 'w4a4-all');
  const out = arg('json', join(ROOT, 'out', 'webgpu-exactness.json'));
  const done: WebGpuAgreement[] = [];
  for (const name of arg('models', 'fmnist-resnet20,fmnist-vgg,fmnist-mobilenetv2').split(',')) {
    if (name === 'ppocr-det') {
      const r = await measureDet(Number(arg('side', '640')), arg('recipe', 'w4a4-baseline'), Number(arg('images', '1')));
      done.push(r);
      writeFileSync(out, JSON.stringify(done, null, 2));
      const label = r.software ? ' (software adapter: a CPU emulation, not a GPU)' : '';
      console.log(`| ${r.model} | ${r.recipe} | ${r.images} | ${r.codesDiffering} of ${r.codes} | ${r.outputsDiffering} | n/a | n/a | ${r.msPerImageWebGpu.toFixed(0)} ms${label} | ${r.msPerImageWasm.toFixed(1)} ms |`);
      continue;
    }
    if (process.argv.includes('--outputs-only')) {
      const src = source(name);
      const float = await loadModel(src.model);
      const { onnx } = await quantize(float, { recipe, target: 'wasm', data: src.calib, ...(src.preprocess ? { preprocess: src.preprocess } : {}), samples: 32 } as never);
      const data = await openDataset(src.data, src.preprocess ? { preprocess: src.preprocess } : {});
      const progress = arg('progress', join(ROOT, 'out', 'webgpu-outputs.jsonl'));
      let last = 0;
      const t = await measureOutputs({
        model: name, recipe, qdq: readOnnx(onnx), bytes: onnx, data, offset, images, batch, progress, dot4: arg('dot4', 'on') !== 'off',
        report: (p) => {
          if (p.images - last < 512 && p.images < images) return;
          last = p.images;
          console.error(`${name}: ${p.images} images, ${p.outputsDiffering} output floats differ, top-1 = sim ${p.sameTop1Sim} (wasm ${p.sameTop1SimWasm}), ${p.msPerImageWebGpu.toFixed(0)} ms/image`);
        },
      });
      const pct = (x: number): string => ((100 * x) / t.images).toFixed(2);
      console.log(`| ${t.model} | ${t.recipe} | ${t.images} | ${t.outputsDiffering} | ${t.sameTop1Sim} (${pct(t.sameTop1Sim)} %) | ${t.sameTop1SimWasm} | ${t.sameTop1Wasm} | ${t.msPerImageWebGpu.toFixed(1)} ms | ${t.msPerImageWasm.toFixed(1)} ms | batch ${batch}${t.resumed ? `, ${t.resumed} batches resumed` : ''} |`);
      continue;
    }
    const r = await measure(name, recipe, images, offset, batch, (partial) => {
      writeFileSync(out, JSON.stringify([...done, partial], null, 2));
      if (partial.images % (batch * 8) === 0) console.error(`${name}: ${partial.images} images, ${partial.codesDiffering}/${partial.codes} codes differ, top-1 = sim ${partial.sameTop1Sim}`);
    });
    done.push(r);
    const label = r.software ? ' (software adapter: a CPU emulation, not a GPU)' : '';
    console.log(`| ${r.model} | ${r.recipe} | ${r.images} | ${r.codesDiffering} of ${r.codes} | ${r.outputsDiffering} | ${((100 * r.sameTop1Sim) / r.images).toFixed(2)} % | ${((100 * r.sameTop1SimWasm) / r.images).toFixed(2)} % | ${r.msPerImageWebGpu.toFixed(0)} ms${label} | ${r.msPerImageWasm.toFixed(1)} ms |`);
  }
  writeFileSync(out, JSON.stringify(done, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
