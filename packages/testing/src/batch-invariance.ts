import type { Model, Tensor } from '@nibble/ir';
import type * as Ort from 'onnxruntime-node';
import { concat } from './statistics';

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

async function outputsInBatches(ort: typeof Ort, session: Ort.InferenceSession, input: Tensor, k: number): Promise<Float64Array> {
  const n = input.shape[0];
  const sample = input.size / n;
  const data = input.data as Float32Array;
  const parts: Float64Array[] = [];
  for (let start = 0; start < n; start += k) {
    const count = Math.min(k, n - start);
    const feed = new ort.Tensor('float32', slice(data, sample, start, count), [count, ...input.shape.slice(1)]);
    const out = await session.run({ [session.inputNames[0]]: feed });
    // Widened exactly: every float32 value, -0 included, is itself in float64.
    parts.push(Float64Array.from(out[session.outputNames[0]].data as Float32Array));
  }
  return concat(parts);
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
  // Loaded here, not with the package: most specs that use @nibble/testing never run onnxruntime.
  const ort = await import('onnxruntime-node');
  const { lowerToQdq, writeOnnx } = await import('@nibble/onnx');
  const bytes = writeOnnx(lowerToQdq(quantized));
  const session = await ort.InferenceSession.create(bytes, {
    extra: { session: { disable_quant_qdq: '1' } },
    ...(options.arena === false ? { enableCpuMemArena: false, enableMemPattern: false } : {}),
  });
  try {
    const n = input.shape[0];
    const reference = await outputsInBatches(ort, session, input, n);
    const batchSizes = [1, ...(options.batchSizes ?? [7, 64])];
    const differing: Record<number, number> = {};
    for (const k of batchSizes) {
      const got = await outputsInBatches(ort, session, input, k);
      let bad = got.length === reference.length ? 0 : Math.max(got.length, reference.length);
      for (let i = 0; i < Math.min(got.length, reference.length); i++) if (!Object.is(got[i], reference[i])) bad++;
      differing[k] = bad;
    }
    return { batchSizes, differing };
  } finally {
    await session.release();
  }
}
