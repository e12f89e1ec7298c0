import { readFileSync } from 'node:fs';
import { NibbleError, Tensor, type Model } from '@nibble/ir';
import { readOnnx, writeOnnxFile } from '@nibble/onnx';
import { createOrtExecutor, createOrtExecutorForBytes } from '@nibble/runtime';

export interface RoundTripReport {
  input: string;
  output: string;
  /** Every output element equal bit for bit. */
  identical: boolean;
  maxAbsDiff: number;
  elements: number;
}

/** A seeded uniform [-1, 1) input for every graph input; symbolic dims become 1. */
export function syntheticFeeds(model: Model, seed = 1): Record<string, Tensor> {
  let state = seed >>> 0;
  const next = (): number => {
    // xorshift32: deterministic on every machine.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const feeds: Record<string, Tensor> = {};
  for (const v of model.graph.inputs) {
    if (v.isInitializer) continue;
    const shape = v.type?.shape;
    if (!shape || v.type?.dtype !== 'float32') {
      throw new NibbleError('E_UNSUPPORTED', `input '${v.name}' needs a float32 type with a known rank to make a synthetic input`, { value: v.name });
    }
    const dims = shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const t = new Tensor('float32', dims);
    const data = t.data as Float32Array;
    for (let i = 0; i < data.length; i++) data[i] = next() * 2 - 1;
    feeds[v.name] = t;
  }
  return feeds;
}

/**
 * Read an ONNX file into the IR, write it back, and run both files in
 * onnxruntime on the same seeded input: the original bytes as they are, the
 * rewritten file as written. Proves the reader and writer lose nothing that
 * changes the model's outputs.
 */
export async function compareOnnxRoundTrip(input: string, output: string): Promise<RoundTripReport> {
  const bytes = readFileSync(input);
  const model = readOnnx(bytes, { file: input });
  writeOnnxFile(model, output);
  const rewritten = readOnnx(readFileSync(output), { file: output });
  const feeds = syntheticFeeds(model);
  const original = await createOrtExecutorForBytes(bytes, model);
  const copy = await createOrtExecutorForBytes(readFileSync(output), rewritten);
  try {
    const a = await original.run(feeds);
    const b = await copy.run(feeds);
    let identical = true;
    let maxAbsDiff = 0;
    let elements = 0;
    for (const name of original.outputNames) {
      const x = a[name].toFloat64();
      const y = b[name].toFloat64();
      elements += x.length;
      if (x.length !== y.length) identical = false;
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        if (!Object.is(x[i], y[i])) identical = false;
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x[i] - y[i]));
      }
    }
    return { input, output, identical, maxAbsDiff, elements };
  } finally {
    await original.dispose();
    await copy.dispose();
  }
}

/** Re-exported so apps need only the public API. */
export { createOrtExecutor };
