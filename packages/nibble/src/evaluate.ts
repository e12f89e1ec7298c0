import type { ExecutorFactory } from '@nibble/core';
import type { Dataset } from '@nibble/data';
import { type Model, NibbleError, Tensor } from '@nibble/ir';
import { lowerToQdq } from '@nibble/onnx';
import { createOrtExecutor } from '@nibble/runtime';
import { DEFAULTS } from './defaults';
import { checkInteger } from './option-checks';
import { checkSampleShape } from './calibrate';
import { choosePreprocess, describePreprocess, type PreprocessChoice } from './datasets';
import { batchForModel, checkBatchMemory, checkFiniteBatch, defaultBatchWithin, fixedBatchOf } from './guards';
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
  /**
   * With the default executor: run Q/DQ exactly as written (true, the
   * simulation) or let onnxruntime's default optimizations fuse them into
   * integer kernels (false: what a deployed `--target ort` file computes).
   */
  exactQdq?: boolean;
  /** Bytes one batch's activations may take (estimated up front; default 4 GiB). */
  memoryLimit?: number;
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
  /** The preprocessing in force, and where it came from (absent for an opened Dataset). */
  preprocess?: PreprocessChoice & { applied: string };
  /** Samples per run: the model's fixed batch when it has one. */
  batchSize: number;
  logits?: Float32Array;
  classes?: number;
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
  checkInteger(options.limit, 'limit');
  checkInteger(options.batchSize, 'batchSize');
  const choice = typeof options.data === 'string' ? choosePreprocess(options.data, model, options.preprocess) : undefined;
  const dataset = await openDataSource(options.data, options.preprocess, model);
  if (!dataset.hasLabels) {
    throw new NibbleError('E_DATA', `${dataset.description} has no labels; top-1 accuracy needs them`, { hint: 'give a labelled dataset (an IDX labels file, a labels CSV, a labels .npy)' });
  }
  const inputs = model.graph.inputs.filter((v) => !v.isInitializer);
  if (inputs.length !== 1) {
    throw new NibbleError('E_UNSUPPORTED', `evaluation feeds one input; the model has ${inputs.length}`, { hint: 'evaluate single-input classifiers' });
  }
  // A sample the model cannot take is the user's data or preprocessing (exit 2), not an engine failure.
  checkSampleShape(model, inputs[0].name, dataset);
  const fixed = fixedBatchOf(model);
  // A batch the caller chose is checked against the memory limit; the default shrinks to what fits (a
  // fixed-batch model keeps its own).
  const shrinkable = options.batchSize === undefined && fixed === undefined;
  const chosen = batchForModel(model, options.batchSize, DEFAULTS.evaluationBatch);
  const batchSize = shrinkable ? defaultBatchWithin(model, chosen, options.memoryLimit) : chosen;
  if (!shrinkable) checkBatchMemory(model, batchSize, options.memoryLimit);
  const annotated = hasAnnotations(model);
  const runnable = annotated ? lowerToQdq(model) : model;
  const quantized = annotated || hasQdqOperators(model);
  const total = Math.min(options.limit ?? dataset.length, dataset.length);
  const executor = await (options.executorFactory ?? ((m) => createOrtExecutor(m, { exactQdq: options.exactQdq ?? true })))(runnable);
  const kept: Float64Array[] = [];
  let correct = 0;
  let done = 0;
  let classes: number | undefined;
  try {
    const output = executor.outputNames[0];
    for await (const batch of dataset.batches({ batchSize, limit: total })) {
      const n = batch.labels.length;
      checkFiniteBatch(batch.inputs, batch.indices, dataset.description);
      // A fixed-batch model gets a short last batch padded with its last sample; only the first n rows count.
      const feed = fixed !== undefined && n < fixed ? padBatch(batch.inputs, fixed) : batch.inputs;
      const out = await executor.run({ [inputs[0].name]: feed }, [output]);
      const r = argmaxRows(out[output], feed.shape[0] as number);
      classes = r.classes;
      for (let i = 0; i < n; i++) if (r.pred[i] === batch.labels[i]) correct++;
      if (options.keepLogits) kept.push(r.values.subarray(0, n * r.classes));
      done += n;
      options.onProgress?.(done, total);
    }
  } finally {
    await executor.dispose();
  }
  const result: EvaluateResult = {
    top1: done > 0 ? correct / done : 0, n: done, correct, quantized, data: dataset.description, batchSize,
    ...(choice ? { preprocess: { ...choice, applied: appliedText(choice, dataset) } } : {}),
  };
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

/** Rows [n, ...] repeated from the last to [batch, ...]. */
function padBatch(t: Tensor, batch: number): Tensor {
  const n = t.shape[0] as number;
  const per = t.size / n;
  const src = t.data as Float32Array;
  const out = new Float32Array(batch * per);
  out.set(src);
  for (let i = n; i < batch; i++) out.copyWithin(i * per, (n - 1) * per, n * per);
  return new Tensor('float32', [batch, ...t.shape.slice(1)], out);
}

/** The description of the preprocessing in force, with any scale step left out for float data. */
function appliedText(choice: PreprocessChoice, dataset: { skippedSteps: readonly unknown[] }): string {
  const line = describePreprocess(choice);
  return dataset.skippedSteps.length ? `${line}; its scale step skipped: the data is float, never rescaled unless --preprocess asks` : line;
}
