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
import { calibrate, codeEntropyOf, evaluate, quantize, resolvePipelineChoice } from 'nibble';
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

/**
 * Entropy of a quantized model's codes, bits per value: weights from their
 * stored codes, activations from histograms of the quantized model (float
 * activations, quantized weights) on the same calibration images, one
 * engine thread. Every row is measured the same way, whatever its pipeline
 * collected.
 */
export async function measureEntropy(q: Model, spec: Pick<CellSpec, 'samples' | 'seed'>, calibration = CALIBRATION_DATA): Promise<{ weights: number | null; activations: number | null }> {
  const activations = q.graph.nodes.flatMap((n) => n.outputs).filter((v) => v.quant?.scale && isActivation(v)).map((v) => v.name);
  const stats = await calibrate(q, { data: calibration, samples: spec.samples, seed: spec.seed, values: activations, histogram: {}, mad: false, threads: 1 });
  return codeEntropyOf(q, stats).meanBits;
}

/** An annotated value that is not a weight's DequantizeLinear output: an activation. */
function isActivation(v: { producer?: { opType: string } | null }): boolean {
  return v.producer?.opType !== 'DequantizeLinear';
}

/** The row's recipe (or variant pipeline) on the cell's seeded calibration images, one engine thread. */
export function quantizeCell(model: Model, spec: Pick<CellSpec, 'recipe' | 'samples' | 'seed'>, calibration = CALIBRATION_DATA): ReturnType<typeof quantize> {
  return quantize(model, {
    ...pipelineChoiceOf(spec.recipe, (recipe) => resolvePipelineChoice({ recipe }).text),
    data: calibration,
    samples: spec.samples,
    seed: spec.seed,
    executorFactory: singleThreaded,
  });
}

export async function measureCell(model: Model, spec: CellSpec, reference: FloatReference, data: CellData = {}): Promise<CellResult> {
  if (reference.n !== spec.n) throw new Error(`the float32 reference covers ${reference.n} test images, the cell ${spec.n}`);
  const t0 = performance.now();
  const { model: q, report } = await quantizeCell(model, spec, data.calibration);
  const t1 = performance.now();
  const r = await evaluate(q, { data: data.test ?? TEST_DATA, limit: spec.n, keepLogits: true, executorFactory: singleThreaded });
  const t2 = performance.now();
  if (!r.logits || r.classes !== reference.classes) {
    throw new Error(`${spec.recipe}: the quantized model gave ${r.classes ?? 'no'} logits per image, float32 ${reference.classes}`);
  }
  const cmp = compareLogits(reference.logits, r.logits, reference.classes);
  const entropy = await measureEntropy(q, spec, data.calibration);
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
    entropyWeights: entropy.weights,
    entropyActivations: entropy.activations,
    ms: { quantize: Math.round(t1 - t0), evaluate: Math.round(t2 - t1) },
  };
}
