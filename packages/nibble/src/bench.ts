import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createWasmExecutor } from '@nibble/backend-wasm';
import { createWebGpuExecutor } from '@nibble/backend-webgpu';
import { openDataset } from '@nibble/data';
import { type Model, NibbleError, type Tensor } from '@nibble/ir';
import { readOnnx } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { loadModel } from './load';
import { quantize } from './quantize';

/*
 * `nibble bench`: latency of one model on the backends a web developer
 * chooses between, batch 1, one thread, on the same input: ours (the int4
 * WebAssembly kernels on the `wasm` target's file), onnxruntime-web wasm on
 * the float model and on an int8 QDQ file, TF.js wasm on the float model
 * (a TF.js model.json only), onnxruntime-node (native). Each variant is
 * prepared from the float model and a recipe; the runs go round-robin (one
 * run of each in turn) so that load on the machine hits every variant alike.
 */

export const BENCH_BACKENDS = ['wasm', 'webgpu', 'ort-wasm', 'ort-wasm-int8', 'tfjs-wasm', 'ort-node'] as const;
export type BenchBackend = (typeof BENCH_BACKENDS)[number];

/** The int8 QDQ file onnxruntime fuses into its integer kernels: 8-bit weights per channel, 8-bit activations per tensor. */
export const INT8_QDQ_PIPELINE = 'fold-bn,fold-constants,eliminate-dead-code,mark-fused-relu,quant-policy{w-bits=8,a-bits=8,per-channel-activations=false},clip-minmax,quantize';

export interface BenchOptions {
  backends: readonly string[];
  /** Calibration data of the quantized variants, and the first sample of `input` is the timed input. */
  data: string;
  input?: string;
  preprocess?: string;
  recipe?: string;
  samples?: number;
  runs?: number;
  warmup?: number;
  threads?: number;
}

export interface Timing { median: number; p90: number; runs: number }

export interface BenchRow {
  backend: BenchBackend;
  latencyMs: Timing;
  /** Bytes of the weights as the backend holds them (ours: packed levels and their offsets), when known. */
  weightBytes: number | null;
  /** Activation arena and scratch (ours), when known. */
  arenaBytes: number | null;
  /** webgpu: the adapter, and whether it is a software one (its timings measure a CPU emulation, not a GPU). */
  adapter?: string;
  software?: boolean;
}

export interface BenchResult { model: string; input: number[]; rows: BenchRow[] }

/** Times every variant round-robin: `warmup` untimed rounds, then `runs` rounds; median and p90 per variant. */
export async function timeRoundRobin(variants: Record<string, () => unknown>, runs: number, warmup: number): Promise<Record<string, Timing>> {
  const names = Object.keys(variants);
  for (let i = 0; i < warmup; i++) for (const n of names) await variants[n]();
  const t = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) {
    for (const n of names) {
      const t0 = performance.now();
      await variants[n]();
      t.get(n)!.push(performance.now() - t0);
    }
  }
  return Object.fromEntries(names.map((n) => {
    const s = t.get(n)!.sort((a, b) => a - b);
    return [n, { median: s[Math.floor(s.length / 2)], p90: s[Math.min(s.length - 1, Math.floor(s.length * 0.9))], runs }];
  }));
}

function checkBackends(backends: readonly string[]): BenchBackend[] {
  if (backends.length === 0) throw new NibbleError('E_BAD_OPTION', 'no backend to benchmark', { option: 'backend', hint: `name one or more of: ${BENCH_BACKENDS.join(', ')}` });
  for (const b of backends) {
    if (!(BENCH_BACKENDS as readonly string[]).includes(b)) {
      throw new NibbleError('E_BAD_OPTION', `--backend ${b}: unknown backend`, { option: 'backend', value: b, hint: `choose from: ${BENCH_BACKENDS.join(', ')}` });
    }
  }
  return [...new Set(backends)] as BenchBackend[];
}

/** A TF.js model.json on TF.js's wasm backend (one thread under Node), fed `x` (NCHW) as NHWC: one timed call per run. */
export async function tfjsWasmRunner(modelPath: string, x: Tensor): Promise<() => void> {
  if (!modelPath.endsWith('.json')) {
    throw new NibbleError('E_BAD_OPTION', `--backend tfjs-wasm runs a TF.js model.json; ${modelPath} is not one`, { option: 'backend', value: 'tfjs-wasm', hint: 'bench the TF.js model.json the ONNX model came from, or drop tfjs-wasm' });
  }
  let tf: typeof import('@tensorflow/tfjs');
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    tf = await import('@tensorflow/tfjs');
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    throw new NibbleError('E_UNSUPPORTED', '--backend tfjs-wasm needs @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm installed', { option: 'backend', hint: 'npm install @tensorflow/tfjs @tensorflow/tfjs-backend-wasm', cause: e });
  }
  wasm.setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
  if (!(await tf.setBackend('wasm'))) throw new NibbleError('E_RUNTIME', 'the TF.js wasm backend did not start', { option: 'backend' });
  const json = JSON.parse(readFileSync(modelPath, 'utf8')) as { modelTopology: object; format?: string; weightsManifest: { paths: string[]; weights: object[] }[] };
  const bytes = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(modelPath), p)))));
  const handler = tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as never, weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer });
  const model = json.format === 'graph-model' ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);
  const [, C, H, W] = x.shape;
  const src = x.toFloat64();
  const nhwc = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) nhwc[i * C + c] = src[c * H * W + i];
  const input = tf.tensor(nhwc, [1, H, W, C]);
  return () => {
    const y = model.predict(input) as { dataSync(): unknown; dispose(): void };
    y.dataSync();
    y.dispose();
  };
}

export async function benchmark(modelPath: string, options: BenchOptions): Promise<BenchResult> {
  const backends = checkBackends(options.backends);
  const runs = options.runs ?? 50;
  const warmup = options.warmup ?? 10;
  if (!Number.isInteger(runs) || runs < 1) throw new NibbleError('E_BAD_OPTION', `--runs ${runs}: not a positive integer`, { option: 'runs' });
  if ((options.threads ?? 1) !== 1) throw new NibbleError('E_BAD_OPTION', `--threads ${options.threads}: only one thread is benchmarked`, { option: 'threads', hint: 'drop --threads or pass --threads 1' });
  const float: Model = await loadModel(modelPath);
  const pre = options.preprocess ? { preprocess: options.preprocess } : {};
  const ds = await openDataset(options.input ?? options.data, pre);
  let x: Tensor | undefined;
  for await (const b of ds.batches({ batchSize: 1, limit: 1 })) x = b.inputs;
  if (!x) throw new NibbleError('E_BAD_OPTION', `${options.input ?? options.data} holds no sample to time`, { option: 'input' });
  const feeds = { [float.graph.inputs.filter((v) => !v.isInitializer)[0].name]: x };
  const calib = { data: options.data, samples: options.samples ?? 32, ...pre };
  const variants: Record<string, () => unknown> = {};
  const rows: Omit<BenchRow, 'latencyMs'>[] = [];
  const disposers: (() => Promise<void>)[] = [];
  for (const backend of backends) {
    let weightBytes: number | null = null;
    let arenaBytes: number | null = null;
    if (backend === 'wasm') {
      const q = await quantize(float, { recipe: options.recipe ?? 'w4a4-baseline', target: 'wasm', ...calib });
      const e = await createWasmExecutor(readOnnx(q.onnx));
      e.runSync(feeds);
      const p = e.stats.plans[0];
      weightBytes = p.weightBytes;
      arenaBytes = p.arenaBytes + p.scratchBytes;
      variants[backend] = () => e.runSync(feeds);
      disposers.push(() => e.dispose());
    } else if (backend === 'webgpu') {
      // The same file as the wasm variant (per-tensor codes, every conv on integers): the two give the same codes.
      const q = await quantize(float, { recipe: options.recipe ?? 'w4a4-baseline', target: 'wasm', ...calib });
      const e = await createWebGpuExecutor(readOnnx(q.onnx));
      await e.run(feeds);
      const p = e.stats.plans[0];
      weightBytes = p.weightBytes;
      arenaBytes = p.slotBytes;
      variants[backend] = () => e.run(feeds);
      disposers.push(() => e.dispose());
      rows.push({ backend, weightBytes, arenaBytes, adapter: e.adapterName, software: e.gpu.software });
      continue;
    } else if (backend === 'tfjs-wasm') {
      variants[backend] = await tfjsWasmRunner(modelPath, x);
    } else {
      const model = backend === 'ort-wasm-int8' ? readOnnx((await quantize(float, { pipeline: INT8_QDQ_PIPELINE, ...calib })).onnx) : float;
      const e = await createOrtExecutor(model, { backend: backend === 'ort-node' ? 'node' : 'web', threads: 1, exactQdq: backend !== 'ort-wasm-int8' });
      variants[backend] = () => e.run(feeds);
      disposers.push(() => e.dispose());
    }
    rows.push({ backend, weightBytes, arenaBytes });
  }
  try {
    const t = await timeRoundRobin(variants, runs, warmup);
    return { model: modelPath, input: [...x.shape], rows: rows.map((r) => ({ ...r, latencyMs: t[r.backend] })) };
  } finally {
    for (const d of disposers) await d();
  }
}
