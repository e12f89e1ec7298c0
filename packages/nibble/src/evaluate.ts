import type { ExecutorFactory } from '@nibble/core';
import type { Dataset } from '@nibble/data';
import { type Model, NibbleError, type Tensor } from '@nibble/ir';
import { lowerToQdq } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { DEFAULTS } from './defaults';
import { openDataSource } from './quantize';

export interface EvaluateOptions {
  /** Labelled data: a dataset spec (e.g. 'fashion-mnist:test') or an opened Dataset. */
  data: string | Dataset;
  /** Preprocessing of a spec (default: the named dataset's preset). */
  preprocess?: string;
  /** Evaluate the first `limit` samples in the dataset's order (default: all). */
  limit?: number;
  /** Samples per run (default DEFAULTS.evaluationBatch). */
  batchSize?: number;
  /** Keep the logits of every sample ([n, classes], in order) in the result. */
  keepLogits?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** What runs the model (default: onnxruntime-node). */
  executorFactory?: ExecutorFactory;
}

export interface EvaluateResult {
  /** Fraction of samples whose largest logit is the label's. */
  top1: number;
  /** Samples evaluated. */
  n: number;
  correct: number;
  /** Whether the model is quantized: it carried quantization annotations (so its QDQ lowering ran) or is a QDQ file already. */
  quantized: boolean;
  data: string;
  logits?: Float32Array;
  classes?: number;
}

function positive(v: number | undefined, option: string): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v <= 0)) {
    throw new NibbleError('E_BAD_OPTION', `${option} must be a positive integer, got ${v}`, { option });
  }
}

/** A file nibble (or another quantizer) wrote in QDQ form: Q/DQ operators instead of annotations. */
function hasQdqOperators(model: Model): boolean {
  return model.graph.nodes.some((n) => (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') && (n.domain === '' || n.domain === 'ai.onnx'));
}

function hasAnnotations(model: Model): boolean {
  const g = model.graph;
  return [...g.inputs, ...g.initializers, ...g.nodes.flatMap((n) => n.outputs)].some((v) => v.quant?.scale !== undefined);
}

/** Row-wise argmax of logits [N, ...] (everything after the batch axis is one row). */
function argmaxRows(t: Tensor, n: number): { pred: Int32Array; classes: number; values: Float64Array } {
  const values = t.toFloat64();
  const classes = values.length / n;
  if (t.shape[0] !== n || !Number.isInteger(classes) || classes < 1) {
    throw new NibbleError('E_SHAPE', `the model's first output is [${t.shape.join(',')}] for a batch of ${n}; top-1 needs logits [N, classes]`, {
      hint: 'evaluate a classifier whose first output holds one row of class scores per sample',
    });
  }
  const pred = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[i * classes + c] > values[i * classes + best]) best = c;
    pred[i] = best;
  }
  return { pred, classes, values };
}

/**
 * Top-1 accuracy of a model on labelled data, run in onnxruntime. A
 * quantized model runs as its QDQ lowering, whose ONNX meaning is exactly
 * the fake quantization its annotations describe; a float model runs as it
 * is. The executor runs QDQ exactly as written (@nibble/runtime's exactQdq,
 * on by default): onnxruntime's QDQ fusions would otherwise round a float bias
 * to the input_scale x weight_scale grid and move a level here and there.
 */
export async function evaluate(model: Model, options: EvaluateOptions): Promise<EvaluateResult> {
  positive(options.limit, 'limit');
  positive(options.batchSize, 'batchSize');
  const dataset = await openDataSource(options.data, options.preprocess, model);
  if (!dataset.hasLabels) {
    throw new NibbleError('E_DATA', `${dataset.description} has no labels; top-1 accuracy needs them`, { hint: 'give a labelled dataset (an IDX labels file, a labels CSV, a labels .npy)' });
  }
  const inputs = model.graph.inputs.filter((v) => !v.isInitializer);
  if (inputs.length !== 1) {
    throw new NibbleError('E_UNSUPPORTED', `evaluation feeds one input; the model has ${inputs.length}`, { hint: 'evaluate single-input classifiers' });
  }
  const annotated = hasAnnotations(model);
  const runnable = annotated ? lowerToQdq(model) : model;
  const quantized = annotated || hasQdqOperators(model);
  const total = Math.min(options.limit ?? dataset.length, dataset.length);
  const executor = await (options.executorFactory ?? createOrtExecutor)(runnable);
  const kept: Float64Array[] = [];
  let correct = 0;
  let done = 0;
  let classes: number | undefined;
  try {
    const output = executor.outputNames[0];
    for await (const batch of dataset.batches({ batchSize: options.batchSize ?? DEFAULTS.evaluationBatch, limit: total })) {
      const n = batch.labels.length;
      const out = await executor.run({ [inputs[0].name]: batch.inputs }, [output]);
      const r = argmaxRows(out[output], n);
      classes = r.classes;
      for (let i = 0; i < n; i++) if (r.pred[i] === batch.labels[i]) correct++;
      if (options.keepLogits) kept.push(r.values);
      done += n;
      options.onProgress?.(done, total);
    }
  } finally {
    await executor.dispose();
  }
  const result: EvaluateResult = { top1: done > 0 ? correct / done : 0, n: done, correct, quantized, data: dataset.description };
  if (options.keepLogits && classes !== undefined) {
    const logits = new Float32Array(done * classes);
    let off = 0;
    for (const k of kept) {
      logits.set(k, off);
      off += k.length;
    }
    Object.assign(result, { logits, classes });
  }
  return result;
}
