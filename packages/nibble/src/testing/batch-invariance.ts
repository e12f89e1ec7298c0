import * as ort from 'onnxruntime-node';
import type { Model, Tensor } from '@nibble/ir';
import { lowerToQdq, writeOnnx } from '@nibble/onnx';

/*
 * A quantized model's simulation computes each sample on its own: the same
 * sample must give the same bits whether it runs alone or in a batch of k.
 * A user once saw accuracy fall from 94.5 % at batch 1 to 73.5 % at batch
 * 1000 on one file: a runtime reading or writing outside a tensor shows up
 * exactly as outputs that depend on the batch. The check runs the file as
 * `nibble eval` does (onnxruntime-node, QDQ kept exact) and, where asked,
 * also with the memory arena and memory patterns off, which turns a stray
 * write into an abort instead of a silent change.
 */

export interface BatchInvariance {
  /** Batch sizes compared with the whole-input run (1 is always compared). */
  batchSizes: number[];
  /** Elements that differ from the whole-input run, by batch size. */
  differing: Record<number, number>;
}

function slice(data: Float32Array, sample: number, from: number, count: number): Float32Array {
  return data.slice(from * sample, (from + count) * sample);
}

async function outputsInBatches(session: ort.InferenceSession, input: Tensor, k: number): Promise<Float32Array> {
  const n = input.shape[0];
  const sample = input.size / n;
  const data = input.data as Float32Array;
  const parts: Float32Array[] = [];
  for (let start = 0; start < n; start += k) {
    const count = Math.min(k, n - start);
    const feed = new ort.Tensor('float32', slice(data, sample, start, count), [count, ...input.shape.slice(1)]);
    const out = await session.run({ [session.inputNames[0]]: feed });
    parts.push(Float32Array.from(out[session.outputNames[0]].data as Float32Array));
  }
  const all = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return all;
}

/**
 * Runs the QDQ form of `quantized` on `input` [N, ...] in one batch and in
 * batches of 1 and of each k, and counts the output elements that differ
 * bit for bit from the one-batch run.
 */
export async function measureBatchInvariance(
  quantized: Model,
  input: Tensor,
  options: { batchSizes?: number[]; arena?: boolean } = {},
): Promise<BatchInvariance> {
  const bytes = writeOnnx(lowerToQdq(quantized));
  const session = await ort.InferenceSession.create(bytes, {
    extra: { session: { disable_quant_qdq: '1' } },
    ...(options.arena === false ? { enableCpuMemArena: false, enableMemPattern: false } : {}),
  });
  try {
    const n = input.shape[0];
    const reference = await outputsInBatches(session, input, n);
    const batchSizes = [1, ...(options.batchSizes ?? [7, 64])];
    const differing: Record<number, number> = {};
    for (const k of batchSizes) {
      const got = await outputsInBatches(session, input, k);
      let bad = got.length === reference.length ? 0 : Math.max(got.length, reference.length);
      for (let i = 0; i < Math.min(got.length, reference.length); i++) if (!Object.is(got[i], reference[i])) bad++;
      differing[k] = bad;
    }
    return { batchSizes, differing };
  } finally {
    await session.release();
  }
}
