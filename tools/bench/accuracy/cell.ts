/*
 * One measurement of the benchmark: quantize a float model with a recipe on
 * a seeded choice of calibration images from the training split, evaluate
 * it on the test split, and compare its logits with float32's.
 *
 * onnxruntime runs on one thread: a multi-threaded conv may split its sums
 * differently from run to run, and the benchmark promises the same numbers
 * on every rerun. Parallelism comes from several worker processes instead.
 */
import type { ExecutorFactory } from '@nibble/core';
import type { Model } from '@nibble/ir';
import { createOrtExecutor } from '@nibble/runtime';
import { evaluate, quantize, resolvePipelineChoice } from 'nibble';
import type { CellResult, FloatResult } from './cache';
import { CALIBRATION_DATA, pipelineChoiceOf, TEST_DATA } from './config';
import { compareLogits } from './metrics';

export const singleThreaded: ExecutorFactory = (model, options) => createOrtExecutor(model, { ...options, threads: 1 });

export interface CellSpec {
  recipe: string;
  samples: number;
  seed: number;
  /** Test images: the first n of the test split. */
  n: number;
}

export interface FloatReference extends FloatResult {
  logits: Float32Array;
}

/** Float32 top-1 and logits on the first n test images. */
export async function measureFloat(model: Model, n: number, testData = TEST_DATA): Promise<FloatReference> {
  const t0 = performance.now();
  const r = await evaluate(model, { data: testData, limit: n, keepLogits: true, executorFactory: singleThreaded });
  if (!r.logits || r.classes === undefined || r.n !== n) {
    throw new Error(`float32 evaluation of '${model.graph.name}' gave ${r.n} of ${n} test images${r.logits ? '' : ' and no logits'}`);
  }
  return { n: r.n, correct: r.correct, top1: r.top1, classes: r.classes, logits: r.logits, ms: performance.now() - t0 };
}

export interface CellData {
  calibration?: string;
  test?: string;
}

export async function measureCell(model: Model, spec: CellSpec, reference: FloatReference, data: CellData = {}): Promise<CellResult> {
  if (reference.n !== spec.n) throw new Error(`the float32 reference covers ${reference.n} test images, the cell ${spec.n}`);
  const t0 = performance.now();
  const { model: q, report } = await quantize(model, {
    ...pipelineChoiceOf(spec.recipe, (recipe) => resolvePipelineChoice({ recipe }).text),
    data: data.calibration ?? CALIBRATION_DATA,
    samples: spec.samples,
    seed: spec.seed,
    executorFactory: singleThreaded,
  });
  const t1 = performance.now();
  const r = await evaluate(q, { data: data.test ?? TEST_DATA, limit: spec.n, keepLogits: true, executorFactory: singleThreaded });
  const t2 = performance.now();
  if (!r.logits || r.classes !== reference.classes) {
    throw new Error(`${spec.recipe}: the quantized model gave ${r.classes ?? 'no'} logits per image, float32 ${reference.classes}`);
  }
  const cmp = compareLogits(reference.logits, r.logits, reference.classes);
  return {
    recipe: spec.recipe,
    pipeline: report.pipeline,
    samples: spec.samples,
    seed: spec.seed,
    n: r.n,
    correct: r.correct,
    top1: r.top1,
    agree: cmp.agree,
    agreement: cmp.agree / cmp.n,
    signal: cmp.signal,
    noise: cmp.noise,
    sqnrDb: Number.isFinite(cmp.sqnrDb) ? cmp.sqnrDb : null,
    bitsWeights: report.meanBits.weights,
    bitsActivations: report.meanBits.activations,
    ms: { quantize: Math.round(t1 - t0), evaluate: Math.round(t2 - t1) },
  };
}
