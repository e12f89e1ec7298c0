import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createWasmExecutor } from '@nibble/backend-wasm';
import { NibbleError, type Model } from '@nibble/ir';
import { compareLogits } from './agreement';
import { benchmark, type BenchRow } from './bench';
import { evaluate } from './evaluate';
import { loadModel } from './load';
import { quantize, saveQuantized } from './quantize';
import { getTarget } from './targets';
import { tfliteForEvaluation } from './tflite-runtime';

/*
 * The back half of the main job: one recipe written for every deployment
 * target and each file measured where it runs (onnxruntime's simulation,
 * onnxruntime's fused integer kernels, nibble's int4 WebAssembly kernels,
 * TFLite 2.9), then the int4 kernels timed beside onnxruntime-web. What a
 * user deploys, with its size and what it costs.
 */

/** Targets in table order, and the runtime each file is measured in. */
const DEPLOY_TARGETS: readonly { target: string; runtime: string }[] = [
  { target: 'sim', runtime: 'onnxruntime, exact QDQ simulation' },
  { target: 'ort', runtime: 'onnxruntime, its fused integer kernels (default session)' },
  { target: 'wasm', runtime: "nibble's int4 WebAssembly kernels" },
  { target: 'tflite', runtime: 'TFLite 2.9 (tfjs-tflite-node)' },
  { target: 'tflite-int4', runtime: 'no runtime here has INT4 kernels' },
];

export interface DeployRow {
  target: string;
  file: string;
  bytes: number;
  /** Where the file was measured; top1 null where it cannot run here (and why in `note`). */
  runtime: string;
  top1: number | null;
  /** Top-1 agreement with the float model on the same samples. */
  agreement: number | null;
  note?: string;
}

export interface WasmCheck {
  file: string;
  n: number;
  /** Top-1 of the wasm-target file in onnxruntime's simulation and on our kernels, and the fraction of identical predictions. */
  top1Simulation: number;
  top1Wasm: number;
  identical: number;
}

export interface DeploySection {
  recipe: string;
  floatBytes: number;
  rows: DeployRow[];
  wasm: WasmCheck;
  /** Batch 1, one thread, one test image: ours beside onnxruntime-web (fp32 and int8 QDQ). */
  latency: BenchRow[];
}

export interface DeployOptions {
  float: Model;
  modelPath: string;
  stem: string;
  recipe: string;
  calibration: string;
  test: string;
  testLimit?: number;
  samples: number;
  seed: number;
  outDir: string;
  floatLogits: Float32Array;
  benchRuns: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

/** The files the deploy section writes (checked before any work, as the recipe rows'). */
export function deployOutputs(outDir: string, stem: string, recipe: string): string[] {
  return DEPLOY_TARGETS.map(({ target }) => join(outDir, `${stem}.${recipe}.${target}${getTarget(target).extension}`));
}

export async function runDeploySection(o: DeployOptions): Promise<DeploySection> {
  const rows: DeployRow[] = [];
  let wasm: WasmCheck | undefined;
  const files = deployOutputs(o.outDir, o.stem, o.recipe);
  for (const [i, { target, runtime }] of DEPLOY_TARGETS.entries()) {
    const file = files[i];
    const q = await quantize(o.float, { recipe: o.recipe, target, data: o.calibration, samples: o.samples, seed: o.seed });
    saveQuantized(q, file);
    const base = { target, file, bytes: statSync(file).size, runtime };
    const progress = (done: number, total: number) => o.onProgress?.(`eval ${target} file`, done, total);
    const on = { data: o.test, limit: o.testLimit, keepLogits: true, onProgress: progress };
    if (target === 'tflite-int4') {
      rows.push({ ...base, top1: null, agreement: null, note: 'checked by reader round trip and int8 twin' });
      continue;
    }
    let result;
    try {
      if (target === 'tflite') {
        const t = tfliteForEvaluation(file, 64);
        result = await evaluate(t.model, { ...on, executorFactory: t.executorFactory });
      } else {
        const model = await loadModel(file);
        result = await evaluate(model, { ...on, ...(target === 'ort' ? { exactQdq: false } : {}), ...(target === 'wasm' ? { executorFactory: createWasmExecutor } : {}) });
        if (target === 'wasm') {
          // The same file in onnxruntime's simulation: our kernels must give its predictions.
          const sim = await evaluate(model, on);
          const same = compareLogits(sim.logits!, result.logits!, result.classes!);
          wasm = { file, n: result.n, top1Simulation: sim.top1, top1Wasm: result.top1, identical: same.agree / same.n };
        }
      }
    } catch (e) {
      // TFLite 2.9 is a separate install (tools/tflite-ref): without it the file is still written and sized.
      if (target !== 'tflite' || !(e instanceof NibbleError) || e.code !== 'E_UNSUPPORTED') throw e;
      rows.push({ ...base, top1: null, agreement: null, note: (e as Error).message });
      continue;
    }
    const against = compareLogits(o.floatLogits, result.logits!, result.classes!);
    rows.push({ ...base, top1: result.top1, agreement: against.agree / against.n });
  }
  o.onProgress?.('benchmark (batch 1)', 0, 1);
  const bench = await benchmark(o.modelPath, {
    backends: ['wasm', 'ort-wasm', 'ort-wasm-int8'], data: o.calibration, input: o.test, recipe: o.recipe, samples: o.samples, runs: o.benchRuns, warmup: 5,
  });
  o.onProgress?.('benchmark (batch 1)', 1, 1);
  return { recipe: o.recipe, floatBytes: statSync(o.modelPath).size, rows, wasm: wasm!, latency: bench.rows };
}
