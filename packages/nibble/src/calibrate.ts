import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createPassContext, EXECUTOR_FACTORY, SOURCE_MODEL } from '@nibble/core';
import { type Dataset, openDataset, type PreprocessStep, writeFileAtomic } from '@nibble/data';
import { type Model, NibbleError } from '@nibble/ir';
import { createOrtExecutor, type OrtBackend } from '@nibble/runtime';
import {
  CALIBRATION_DATA, CALIBRATION_OPTIONS, CALIBRATION_STATS, type CalibrationData, type CalibrationOptions, CalibrationStats,
} from '@nibble/stats';
import { DEFAULTS } from './defaults';
import { checkInteger } from './option-checks';
import { choosePreprocess } from './datasets';
import { batchForModel, checkFiniteBatch, checkFiniteWeights, checkHistogramMemory, fixedBatchOf } from './guards';


export interface CalibrationDataOptions {
  /** Samples to calibrate on: the first of the dataset's seeded shuffle (default 128; the whole dataset if it is smaller). */
  samples?: number;
  /** Seed of the shuffle that picks the samples (default 0). */
  seed?: number;
  /** Samples per executor run (default 32). */
  batchSize?: number;
  /**
   * The model takes exactly batchSize samples per run (a fixed batch): the
   * samples are rounded down to a multiple of it, never a short last batch.
   */
  exactBatch?: boolean;
}

export interface CalibrateOptions extends CalibrationDataOptions, Omit<CalibrationOptions, 'values'> {
  /** A dataset spec ('fashion-mnist:calib', 'images:dir', ...), an opened dataset, or batches ready to feed. */
  data: string | Dataset | CalibrationData;
  /** Preprocessing of a spec's samples (default: the named dataset's preset, else none). */
  preprocess?: string | readonly PreprocessStep[];
  /** Activations to observe in place of every float activation. */
  values?: readonly string[];
  /** onnxruntime backend running the float model (default 'node'). */
  backend?: OrtBackend;
  /**
   * onnxruntime's threads (default: one core fewer than the machine has, at
   * least one). The statistics run on the JavaScript thread while the engine
   * computes the next batch; engine threads spinning on every core slow both.
   */
  threads?: number;
  /** Bytes the up-front estimates (histograms) may reach (default 4 GiB). */
  memoryLimit?: number;
}

/** The model's one data input (initializers listed as inputs are not data). */
function dataInput(model: Model): string {
  const inputs = model.graph.inputs.filter((v) => !v.isInitializer);
  if (inputs.length !== 1) {
    throw new NibbleError('E_UNSUPPORTED', `calibration from a dataset needs a model with one input, '${model.graph.name}' has ${inputs.length} (${inputs.map((v) => v.name).join(', ')})`, {
      hint: 'give the analysis a CalibrationData that feeds every input (the CALIBRATION_DATA service of @nibble/stats)',
    });
  }
  return inputs[0].name;
}

/**
 * A dataset as the calibration analysis reads it: the first `samples` of its
 * seeded shuffle, in batches keyed by the model input's name. Every call of
 * batches() yields the same batches, as a second pass needs.
 */
export function datasetCalibrationData(dataset: Dataset, inputName: string, options: CalibrationDataOptions = {}): CalibrationData {
  const batchSize = checkInteger(options.batchSize ?? DEFAULTS.calibrationBatch, 'batchSize');
  let samples = Math.min(checkInteger(options.samples ?? DEFAULTS.calibrationSamples, 'samples'), dataset.length);
  if (options.exactBatch) {
    if (samples < batchSize) {
      throw new NibbleError('E_DATA', `${dataset.description}: the model takes batches of exactly ${batchSize} samples, the calibration has ${samples}`, {
        option: 'samples', hint: `give --samples ${batchSize} or more (a multiple of ${batchSize})`,
      });
    }
    samples -= samples % batchSize;
  }
  const order = { shuffle: true, seed: options.seed ?? 0, limit: samples };
  return {
    samples,
    description: dataset.description,
    async *batches() {
      for await (const b of dataset.batches({ ...order, batchSize })) {
        checkFiniteBatch(b.inputs, b.indices, dataset.description);
        yield { [inputName]: b.inputs };
      }
    },
  };
}

/** The dataset's samples fit the model's input (after the batch axis): E_SHAPE naming both and --preprocess otherwise. */
export function checkSampleShape(model: Model, input: string, dataset: Dataset): void {
  const declared = model.graph.value(input)?.type?.shape;
  if (!declared) return;
  const want = declared.slice(1);
  const got = dataset.sampleShape;
  const fits = want.length === got.length && want.every((d, i) => typeof d !== 'number' || d === got[i]);
  if (!fits) {
    throw new NibbleError('E_SHAPE', `${dataset.description} gives samples of shape [${got.join(',')}] (${dataset.layout}), the model's input '${input}' takes [${want.map((d) => d ?? '?').join(',')}] per sample`, {
      option: 'preprocess', value: input,
      hint: 'preprocess the data to the model\'s input, e.g. --preprocess rgb,resize=HxW,scale=1/255,nchw (see the dataset presets)',
    });
  }
}

function isDataset(d: Dataset | CalibrationData): d is Dataset {
  return 'sampleShape' in d;
}

async function calibrationData(model: Model, options: CalibrateOptions): Promise<CalibrationData> {
  const given = options.data;
  if (typeof given !== 'string' && !isDataset(given)) return given;
  const input = dataInput(model);
  let dataset: Dataset;
  if (typeof given === 'string') {
    const explicit = typeof options.preprocess === 'string' || options.preprocess === undefined ? options.preprocess : undefined;
    const choice = explicit !== undefined || options.preprocess === undefined ? choosePreprocess(given, model, explicit) : undefined;
    dataset = await openDataset(given, {
      preprocess: choice ? (choice.source === 'none' ? undefined : choice.text) : options.preprocess,
      // Preprocessing the user did not ask for is written for 0..255 pixels: float data keeps its scale.
      scaleFloatData: choice === undefined || choice.source === 'option',
    });
  } else {
    dataset = given;
  }
  checkSampleShape(model, input, dataset);
  const batchSize = batchForModel(model, options.batchSize, DEFAULTS.calibrationBatch);
  return datasetCalibrationData(dataset, input, { ...options, batchSize, exactBatch: fixedBatchOf(model) !== undefined });
}

/**
 * Runs the float model over calibration samples and returns the statistics of
 * every activation (per tensor and per channel) and every constant weight:
 * the CALIBRATION_STATS analysis with onnxruntime as the executor.
 */
export async function calibrate(model: Model, options: CalibrateOptions): Promise<CalibrationStats> {
  if (options.histogram) checkHistogramMemory(model, options.histogram.bins ?? 2048, options.memoryLimit);
  checkFiniteWeights(model);
  const data = await calibrationData(model, options);
  const ctx = createPassContext();
  const { backend } = options;
  const threads = options.threads ?? Math.max(1, availableParallelism() - 1);
  ctx.services
    .set(EXECUTOR_FACTORY, (m, o) => createOrtExecutor(m, { ...o, backend, threads }))
    .set(SOURCE_MODEL, model)
    .set(CALIBRATION_DATA, data)
    .set(CALIBRATION_OPTIONS, {
      values: options.values, perChannel: options.perChannel, histogram: options.histogram, mad: options.mad,
      weights: options.weights, onProgress: options.onProgress,
    });
  return ctx.getAnalysis(CALIBRATION_STATS, model.graph);
}

/**
 * JSON text of the statistics: objects indented, arrays of numbers on one
 * line, so a person can read it and a diff shows which tensor changed.
 */
export function formatCalibrationStats(stats: CalibrationStats): string {
  return `${format(JSON.parse(JSON.stringify(stats)), '')}\n`;
}

function format(v: unknown, indent: string): string {
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== 'object')) return JSON.stringify(v);
    const inner = indent + '  ';
    return `[\n${v.map((x) => inner + format(x, inner)).join(',\n')}\n${indent}]`;
  }
  if (v !== null && typeof v === 'object') {
    const inner = indent + '  ';
    const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${inner}${JSON.stringify(k)}: ${format(x, inner)}`);
    return entries.length ? `{\n${entries.join(',\n')}\n${indent}}` : '{}';
  }
  return JSON.stringify(v);
}

/** Writes the statistics file atomically (a temporary file, then a rename). */
export function writeCalibrationStats(stats: CalibrationStats, path: string): void {
  writeFileAtomic(path, new TextEncoder().encode(formatCalibrationStats(stats)));
}

/** Reads a statistics file written by writeCalibrationStats (or nibble calibrate --out). */
export function readCalibrationStats(path: string): CalibrationStats {
  if (!existsSync(path)) {
    throw new NibbleError('E_FILE_NOT_FOUND', `${path}: no such file`, { file: path, hint: 'write it first with nibble calibrate --out' });
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new NibbleError('E_FILE_FORMAT', `${path}: not JSON (${(e as Error).message})`, { file: path, cause: e, hint: 'give a file written by nibble calibrate --out' });
  }
  return CalibrationStats.fromJSON(json, path);
}
