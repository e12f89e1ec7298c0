import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '@nibble/ir';
import { readOnnx } from '@nibble/onnx';
import { createOrtExecutor, createOrtExecutorForBytes } from '@nibble/runtime';
import { randomFloats } from '@nibble/testing';
import { specializeInputShapes } from 'nibble';
import { PPOCR_ASSETS } from './testing/ppocr';

/*
 * `nibble convert --shape` on a real exporter's dynamic model (PaddlePaddle's
 * PP-OCRv4 recogniser: batch and width dynamic, its sequence reshaped from
 * Shape/Slice/Concat/Cast computations): the shapes fixed, the
 * shape computations they decide fold away, and the written model computes
 * what the file computes, in onnxruntime, on a seeded input.
 */
describe('specializeInputShapes (convert --shape) on PP-OCRv4 rec', () => {
  it('folds the shape subgraphs and keeps the outputs', async () => {
    const file = 'ch_PP-OCRv4_rec_infer.onnx';
    const bytes = readFileSync(join(PPOCR_ASSETS, file));
    const original = readOnnx(bytes, { file });
    const shape = [1, 3, 48, 160];
    const fixed = await specializeInputShapes(original, { x: shape });
    const count = (ops: readonly string[]) => fixed.graph.nodes.filter((n) => ops.includes(n.opType)).length;
    const before = (ops: readonly string[]) => original.graph.nodes.filter((n) => ops.includes(n.opType)).length;
    // Measured: Shape 4 -> 1 (the batch's, kept so the file still runs batches), Cast 23 -> 0, Concat 7 -> 2.
    expect(before(['Shape'])).toBe(4);
    expect(count(['Shape'])).toBeLessThanOrEqual(1);
    expect(before(['Cast'])).toBeGreaterThan(10);
    expect(count(['Cast'])).toBe(0);
    expect(count(['Concat'])).toBeLessThan(before(['Concat']));
    expect(fixed.graph.inputs[0].type?.shape).toEqual(shape);
    // The caller's model is untouched.
    expect(original.graph.inputs[0].type?.shape?.[3]).not.toBe(160);

    const x = new Tensor('float32', shape, randomFloats(shape.reduce((a, b) => a * b, 1), 11));
    const a = await createOrtExecutorForBytes(bytes, original);
    const b = await createOrtExecutor(fixed);
    try {
      const want = (await a.run({ x }))[a.outputNames[0]].toFloat64();
      const got = (await b.run({ x }))[b.outputNames[0]].toFloat64();
      expect(got.length).toBe(want.length);
      let maxAbs = 0;
      for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(want[i] - got[i]));
      // Folding evaluates the same float32 shape arithmetic; the convolutions are untouched.
      expect(maxAbs).toBeLessThan(1e-5);
    } finally {
      await a.dispose();
      await b.dispose();
    }
  }, 120_000);
});
