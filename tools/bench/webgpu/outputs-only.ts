/*
 * exactness.ts --outputs-only: the test split in batches through the WebGPU
 * executor, comparing only the graph outputs (float32, bit for bit) with the
 * WebAssembly backend's on the same batches, and the top-1 of both with
 * onnxruntime's QDQ simulation. Reading back every activation (the default
 * mode) costs seconds per image on a software adapter; the outputs are a
 * few words per image, so the whole 10k split becomes a matter of the
 * kernels' own time.
 *
 * Long runs are resumable: one JSON line per finished batch goes to the
 * progress file, with a hash of the quantized file, and a run started again
 * skips the batches already recorded for that same file (a different file,
 * e.g. a changed recipe, is refused rather than mixed in).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createWasmExecutor } from '@nibble/backend-wasm';
import { createWebGpuExecutor } from '@nibble/backend-webgpu';
import type { Dataset } from '@nibble/data';
import type { Model } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import { argmax } from 'nibble';

/** One finished batch: the progress file's line. */
export interface OutputsChunk {
  model: string;
  recipe: string;
  /** sha256 of the quantized ONNX bytes the batch ran (resuming needs the same file). */
  file: string;
  start: number;
  images: number;
  batch: number;
  /** Output float32 values that differ from the wasm backend's in any bit. */
  outputsDiffering: number;
  /** Images whose top-1 equals the simulation's: webgpu, wasm; and webgpu's equal to wasm's. */
  sameTop1Sim: number;
  sameTop1SimWasm: number;
  sameTop1Wasm: number;
  /** Wall-clock milliseconds of run() for this batch. */
  msWebGpu: number;
  msWasm: number;
  adapter: string;
  dot4: boolean;
}

export interface OutputsTotals {
  model: string;
  recipe: string;
  images: number;
  outputsDiffering: number;
  sameTop1Sim: number;
  sameTop1SimWasm: number;
  sameTop1Wasm: number;
  msPerImageWebGpu: number;
  msPerImageWasm: number;
  /** Chunks that came from an earlier run of the same file (their times are that run's). */
  resumed: number;
}

export const fileHash = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/** The chunks already recorded for this model, recipe and file; throws when the file recorded there is another. */
export function readProgress(path: string, model: string, recipe: string, file: string): OutputsChunk[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const mine = lines.map((l) => JSON.parse(l) as OutputsChunk).filter((c) => c.model === model && c.recipe === recipe);
  const other = mine.find((c) => c.file !== file);
  if (other) throw new Error(`${path} holds batches of ${model} ${recipe} quantized into another file (${other.file}, now ${file}): move it away to start over`);
  return mine;
}

export function totals(model: string, recipe: string, chunks: readonly OutputsChunk[], resumed = 0): OutputsTotals {
  const sum = (f: (c: OutputsChunk) => number): number => chunks.reduce((a, c) => a + f(c), 0);
  const images = sum((c) => c.images);
  return {
    model, recipe, images, outputsDiffering: sum((c) => c.outputsDiffering), sameTop1Sim: sum((c) => c.sameTop1Sim),
    sameTop1SimWasm: sum((c) => c.sameTop1SimWasm), sameTop1Wasm: sum((c) => c.sameTop1Wasm),
    msPerImageWebGpu: images ? sum((c) => c.msWebGpu) / images : 0, msPerImageWasm: images ? sum((c) => c.msWasm) / images : 0, resumed,
  };
}

export interface OutputsRun {
  model: string;
  recipe: string;
  /** The quantized file (its IR and its bytes, hashed for resuming). */
  qdq: Model;
  bytes: Uint8Array;
  data: Dataset;
  offset: number;
  images: number;
  batch: number;
  progress: string;
  /** false: plain int32 multiply-adds even where the adapter has dot4U8Packed (SwiftShader emulates it, slower). */
  dot4?: boolean;
  /** Called after each batch with the running totals. */
  report?: (t: OutputsTotals) => void;
}

/** Runs the batches of [offset, offset + images) not yet in the progress file; returns the totals over that range. */
export async function measureOutputs(r: OutputsRun): Promise<OutputsTotals> {
  const file = fileHash(r.bytes);
  const end = Math.min(r.data.length, r.offset + r.images);
  const inRange = (c: OutputsChunk): boolean => c.start >= r.offset && c.start < end;
  const done = readProgress(r.progress, r.model, r.recipe, file).filter(inRange);
  const covered = new Set<number>();
  for (const c of done) for (let i = c.start; i < c.start + c.images; i++) covered.add(i);
  const chunks = [...done];
  mkdirSync(dirname(r.progress), { recursive: true });
  const g = r.qdq.graph;
  const input = g.inputs.filter((v) => !v.isInitializer)[0].name;
  const output = g.outputs[0].name;
  const gpu = await createWebGpuExecutor(r.qdq, { dot4: r.dot4 !== false });
  const wasm = await createWasmExecutor(r.qdq);
  const sim = await createOrtExecutor(r.qdq);
  try {
    // Compile the plan and its pipelines outside the timed batches (the plan is per sample shape, not per batch).
    if (end > r.offset) await gpu.run({ [input]: (await r.data.batch([r.offset])).inputs }, [output]);
    for (let start = r.offset; start < end; start += r.batch) {
      const indices = Array.from({ length: Math.min(r.batch, end - start) }, (_, i) => start + i).filter((i) => !covered.has(i));
      if (indices.length === 0) continue;
      // A batch is contiguous unless an earlier run with another batch size covered part of it: then run the rest one by one.
      const runs = indices.length === indices[indices.length - 1] - indices[0] + 1 ? [indices] : indices.map((i) => [i]);
      for (const idx of runs) {
        const b = await r.data.batch(idx);
        const feeds = { [input]: b.inputs };
        let t0 = performance.now();
        const og = (await gpu.run(feeds, [output]))[output].data as Float32Array;
        const msWebGpu = performance.now() - t0;
        t0 = performance.now();
        const ow = (await wasm.run(feeds, [output]))[output].data as Float32Array;
        const msWasm = performance.now() - t0;
        const os = (await sim.run(feeds))[output].toFloat64();
        const c: OutputsChunk = {
          model: r.model, recipe: r.recipe, file, start: idx[0], images: idx.length, batch: r.batch, outputsDiffering: 0,
          sameTop1Sim: 0, sameTop1SimWasm: 0, sameTop1Wasm: 0, msWebGpu, msWasm, adapter: gpu.adapterName, dot4: gpu.gpu.dot4,
        };
        for (let i = 0; i < ow.length; i++) if (!Object.is(ow[i], og[i])) c.outputsDiffering++;
        const k = ow.length / idx.length;
        for (let j = 0; j < idx.length; j++) {
          const row = (v: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }) => argmax(v.subarray(j * k, (j + 1) * k));
          const top = row(os), tg = row(og), tw = row(ow);
          if (tg === top) c.sameTop1Sim++;
          if (tw === top) c.sameTop1SimWasm++;
          if (tg === tw) c.sameTop1Wasm++;
        }
        appendFileSync(r.progress, `${JSON.stringify(c)}\n`);
        chunks.push(c);
        r.report?.(totals(r.model, r.recipe, chunks, done.length));
      }
    }
  } finally {
    await gpu.dispose();
    await wasm.dispose();
    await sim.dispose();
  }
  return totals(r.model, r.recipe, chunks, done.length);
}
