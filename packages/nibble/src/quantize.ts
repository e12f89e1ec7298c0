import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import {
  createPassContext, EXECUTOR_FACTORY, type ExecutorFactory, MemoryLogger, MemoryReportSink, type PassInstrumentation, PassManager,
  type PipelineRunResult, type ReportEntry, SOURCE_MODEL,
} from '@nibble/core';
import { type Dataset, openDataset } from '@nibble/data';
import { cloneModel, type Model, NibbleError, type Value } from '@nibble/ir';
import { lowerToQdq, qdqContainer, upgradeToQdqOpset, writeEntropyContainerFile, writeFileAtomic, writeOnnx } from '@nibble/onnx';
import { paramsOfAnnotation } from '@nibble/quant';
import { createOrtExecutor } from '@nibble/runtime';
import { CALIBRATION_DATA, CALIBRATION_OPTIONS, CALIBRATION_STATS, type CalibrationData, type CalibrationStats } from '@nibble/stats';
import { datasetCalibrationData } from './calibrate';
import type { PlanChoice } from './plan';
import { choosePreprocess, MODEL_PREPROCESS_KEY, type PreprocessChoice } from './datasets';
import { batchForModel, checkFiniteWeights, fixedBatchOf } from './guards';
import { checkQuantizedOutput, planQuantization, type QuantizePlan } from './plan';
import { getTarget } from './targets';
import { checkOutputPath, type OutputCheck } from './outputs';

export interface QuantizeProgress {
  /** 'calibrate' while the float model runs over the calibration data, 'pass' when a pass starts. */
  stage: 'calibrate' | 'pass';
  /** 1-based pipeline position of the running pass, and the pipeline length. */
  index: number;
  count: number;
  pass: string;
  /** Calibration only: samples done of the total, and the pass over the data (2 when deviations are made exact). */
  samplesDone?: number;
  samplesTotal?: number;
  dataPass?: 1 | 2;
}

/** Where samples come from: a dataset spec ('fashion-mnist:calib'), an opened Dataset, or CalibrationData. */
export type DataSource = string | Dataset | CalibrationData;

export interface QuantizeOptions extends PlanChoice {
  /** A plan made by planQuantization (e.g. printed first by the CLI); in place of recipe/pipeline/samples/seed/batchSize. */
  plan?: QuantizePlan;
  /** Calibration data; without it, a pipeline that needs activation statistics fails naming the data. */
  data?: DataSource;
  /** Preprocessing of a dataset spec (default: the named dataset's preset). */
  preprocess?: string;
  onProgress?: (p: QuantizeProgress) => void;
  /** Hooks around each pass (timers, IR dumps: the CLI's --timing and --print-ir-after). */
  instrument?: PassInstrumentation;
  /** How calibration runs the float model (default: onnxruntime-node). */
  executorFactory?: ExecutorFactory;
  /** Accept a pipeline that quantizes no tensor (the output is then a float copy); an error otherwise. */
  allowUnquantized?: boolean;
}

/** One quantized tensor, as its annotation says. */
export interface TensorQuantReport {
  name: string;
  kind: 'weight' | 'activation';
  /** Channel axis, or null per tensor. */
  axis: number | null;
  channels: number;
  meanBits: number;
  minBits: number;
  maxBits: number;
  /** Integer container in the QDQ export: int4, uint4, int8, uint8. */
  container: string;
  /** Elements of a weight, or of one sample of an activation (null when not static). */
  elements: number | null;
  rangeSource?: string;
}

export interface QuantizeReport {
  /** The recipe, when one was named. */
  recipe?: string;
  /** The deployment target whose writer made the file (targets.ts). */
  target: string;
  /** The pipeline that ran as written (a recipe's expansion), in canonical text. */
  pipeline: string;
  /** The same with every option written out. */
  pipelineFull: string;
  meanBits: {
    /** Bits per parameter over the quantized weights (null: none quantized). */
    weights: number | null;
    /** Mean over the channels of all quantized activations, a per-tensor one counting once (null: none). */
    activations: number | null;
  };
  perTensor: TensorQuantReport[];
  sizeBytes: {
    /** The float model as ONNX. */
    float: number;
    /** The QDQ file's bytes, the ones saveQuantized writes. */
    quantized: number;
  };
  calibration?: { samples: number; data?: string };
  timings: { totalMs: number; passes: { pass: string; ms: number; analysesMs: number }[] };
  /** What the passes recorded (chosen ranges, achieved bits, ...). */
  facts: ReportEntry[];
  /** The preprocessing calibration fed the model, written into the output's metadata (absent without a dataset spec). */
  preprocess?: PreprocessChoice;
  /**
   * Results that may not be what the user expects (a BatchNormalization left unfolded, a keep-float pattern that
   * matches no node, ...): every warning a pass or analysis gave, prefixed with its pass; the CLI prints them.
   */
  warnings: string[];
}

export interface QuantizeResult {
  /** The quantized IR: annotated activations, DequantizeLinear weights (what evaluate and the passes read). */
  model: Model;
  /** Its QDQ form as an ONNX file's bytes, lowered and serialized once: what saveQuantized writes. */
  onnx: Uint8Array;
  report: QuantizeReport;
  /** The calibration statistics the passes read (for the HTML report), when calibration ran. */
  calibration?: CalibrationStats;
}

/** The pipeline text a recipe or an explicit pipeline names (exactly one of the two), checked against the pass registry. */
export function resolvePipelineChoice(options: Pick<PlanChoice, 'recipe' | 'pipeline'>): { text: string; recipe?: string } {
  const plan = planQuantization(options);
  return { text: plan.pipeline, ...(plan.recipe ? { recipe: plan.recipe } : {}) };
}

function isCalibrationData(d: DataSource): d is CalibrationData {
  return typeof d === 'object' && !('sampleShape' in d);
}

/** The model's one data input, which a dataset feeds. */
function dataInput(model: Model): string {
  const inputs = model.graph.inputs.filter((v) => !v.isInitializer);
  if (inputs.length !== 1) {
    throw new NibbleError('E_UNSUPPORTED', `a dataset feeds one input; '${model.graph.name}' has ${inputs.length} (${inputs.map((v) => v.name).join(', ')})`, {
      hint: 'give CalibrationData whose batches name every input',
    });
  }
  return inputs[0].name;
}

/** A dataset spec opened with the given preprocessing, else the model's declared one, else the named dataset's preset. */
export async function openDataSource(data: string | Dataset, preprocess?: string, model?: Model): Promise<Dataset> {
  if (typeof data !== 'string') return data;
  const choice = choosePreprocess(data, model, preprocess);
  // Preprocessing the user did not ask for is written for 0..255 pixels: float data keeps its scale.
  return openDataset(data, { preprocess: choice.source === 'none' ? undefined : choice.text, scaleFloatData: choice.source === 'option' });
}

async function calibrationDataFor(model: Model, data: DataSource, options: { samples: number; seed: number; batchSize: number; preprocess?: string }): Promise<CalibrationData> {
  if (isCalibrationData(data)) return data;
  const dataset = await openDataSource(data, options.preprocess, model);
  const batchSize = batchForModel(model, options.batchSize, options.batchSize);
  return datasetCalibrationData(dataset, dataInput(model), { ...options, batchSize, exactBatch: fixedBatchOf(model) !== undefined });
}

function isWeight(v: Value): boolean {
  return v.isInitializer || v.producer?.opType === 'DequantizeLinear';
}

function tensorReports(model: Model): TensorQuantReport[] {
  const out: TensorQuantReport[] = [];
  const g = model.graph;
  for (const v of [...g.inputs, ...g.initializers, ...g.nodes.flatMap((n) => n.outputs)]) {
    const q = v.quant;
    if (!q?.bits || !q.scale) continue;
    const p = paramsOfAnnotation(q, v.name);
    const bits = Array.from(p.bits);
    const weight = isWeight(v);
    const shape = weight ? (v.const ?? v.producer?.inputs[0]?.const)?.shape : v.type?.shape?.slice(1);
    const elements = shape && shape.every((d) => typeof d === 'number') ? (shape as number[]).reduce((a, b) => a * b, 1) : null;
    out.push({
      name: v.name, kind: weight ? 'weight' : 'activation', axis: q.axis, channels: bits.length,
      meanBits: bits.reduce((a, b) => a + b, 0) / bits.length, minBits: Math.min(...bits), maxBits: Math.max(...bits),
      container: qdqContainer(p, weight ? 4 : 8).dtype, elements, ...(q.rangeSource ? { rangeSource: q.rangeSource } : {}),
    });
  }
  return out;
}

/**
 * What in the quantized graph departs from the method: a BatchNormalization
 * that survived the canonical passes is quantized on pre-BN statistics
 * (METHOD.md quantizes after folding), and an unknown exporter spelling of
 * its parameters is the usual cause, so say which node and why.
 */
function warningsOf(model: Model, facts: readonly ReportEntry[]): string[] {
  const left = model.graph.nodes.filter((n) => n.opType === 'BatchNormalization' && (n.domain === '' || n.domain === 'ai.onnx'));
  return left.map((n) => {
    const why = facts.find((f) => f.key === 'standalone-reason' && f.subject === n.name)?.value;
    return `BatchNormalization '${n.name}' was not folded${why ? ` (${String(why)})` : ''}: the value before it is quantized on pre-BN statistics; fold it in the exporter or write a pass that makes its parameters constant`;
  });
}

function meanBitsOf(tensors: TensorQuantReport[]): QuantizeReport['meanBits'] {
  const weights = tensors.filter((t) => t.kind === 'weight');
  const acts = tensors.filter((t) => t.kind === 'activation');
  // A weight's channels hold equal shares of its parameters, so its mean bits weigh by its size.
  const wElems = weights.reduce((s, t) => s + (t.elements ?? 0), 0);
  const wBits = weights.reduce((s, t) => s + t.meanBits * (t.elements ?? 0), 0);
  const aChannels = acts.reduce((s, t) => s + t.channels, 0);
  const aBits = acts.reduce((s, t) => s + t.meanBits * t.channels, 0);
  return { weights: wElems > 0 ? wBits / wElems : null, activations: aChannels > 0 ? aBits / aChannels : null };
}

/**
 * Quantize a float model: raise it to opset 21 (what the QDQ form needs),
 * run the recipe's (or the given) pipeline with onnxruntime as the executor
 * and the calibration data as a service, and report what came out. The
 * input model is left unchanged.
 */
export async function quantize(model: Model, options: QuantizeOptions): Promise<QuantizeResult> {
  const t0 = performance.now();
  // A fixed-batch model calibrates in its batch unless the caller chose one.
  const plan = options.plan ?? planQuantization({ ...options, batchSize: options.batchSize ?? fixedBatchOf(model) });
  checkPlanQuantizes(plan, options.allowUnquantized);
  checkFiniteWeights(model);
  const position = { index: 0, count: 0, pass: '' };
  const managerInstruments: PassInstrumentation[] = [
      {
        beforePass: (p) => {
          Object.assign(position, { index: p.index + 1, count: p.count, pass: p.pass });
          options.onProgress?.({ stage: 'pass', ...position });
        },
      },
      ...(options.instrument ? [options.instrument] : []),
  ];
  const work = cloneModel(model);
  upgradeToQdqOpset(work);
  const preprocess = typeof options.data === 'string' ? choosePreprocess(options.data, model, options.preprocess) : undefined;
  // The preprocessing calibrated with travels with the model: eval and a second quantize feed it the same way.
  if (preprocess && preprocess.source !== 'none') work.metadata.set(MODEL_PREPROCESS_KEY, preprocess.text);
  let stats: CalibrationStats | undefined;
  const sink = new MemoryReportSink();
  // The passes' warnings (a pattern that matches nothing, ranges that cannot follow new widths) reach the report.
  const log = new MemoryLogger();
  const ctx = createPassContext({ reportSink: sink, logger: log });
  // One engine thread fewer than cores: statistics of one batch overlap the next batch's run. Counted only for
  // the default (onnxruntime-node) executor: in a browser node:os is a stub, and the caller passes a factory.
  const defaultFactory: ExecutorFactory = (m, o) => createOrtExecutor(m, { ...o, threads: Math.max(1, availableParallelism() - 1) });
  ctx.services.set(SOURCE_MODEL, work).set(EXECUTOR_FACTORY, options.executorFactory ?? defaultFactory);
  let calibration: CalibrationData | undefined;
  if (options.data !== undefined && plan.calibration) {
    calibration = await calibrationDataFor(work, options.data, { ...plan.calibration, preprocess: options.preprocess });
    // What to collect (histograms, layer inputs) is the union of what the passes declare (their `requires`).
    ctx.services.set(CALIBRATION_DATA, calibration).set(CALIBRATION_OPTIONS, {
      onProgress: (p) => options.onProgress?.({ stage: 'calibrate', ...position, samplesDone: p.samplesDone, samplesTotal: p.samplesTotal, dataPass: p.pass }),
    });
  }
  const run: PipelineRunResult = await new PassManager(plan.invocations, {
    instrument: [...managerInstruments, { afterPass: () => { stats ??= ctx.getCachedAnalysis(CALIBRATION_STATS); } }],
  }).run(work.graph, ctx);
  const quantized: Model = { ...work, graph: run.graph };
  const perTensor = tensorReports(quantized);
  if (perTensor.length === 0 && !options.allowUnquantized) throw nothingQuantized(plan.pipeline, 'it ran, and left every tensor in float');
  // Lowered and serialized once, by the target's writer: the report's size is the file's.
  const onnx = getTarget(plan.target).write(quantized);
  return {
    model: quantized,
    onnx,
    report: {
      ...(plan.recipe ? { recipe: plan.recipe } : {}),
      target: plan.target,
      pipeline: plan.pipeline,
      pipelineFull: run.pipeline,
      meanBits: meanBitsOf(perTensor),
      perTensor,
      sizeBytes: { float: writeOnnx(model).length, quantized: onnx.length },
      ...(calibration ? { calibration: { samples: calibration.samples, ...(calibration.description ? { data: calibration.description } : {}) } } : {}),
      timings: { totalMs: performance.now() - t0, passes: run.passes.map((r) => ({ pass: r.pass, ms: r.wallMs, analysesMs: r.analysesMs })) },
      facts: sink.entries,
      ...(preprocess ? { preprocess } : {}),
      warnings: [...(preprocess?.warning ? [preprocess.warning] : []), ...log.lines.filter((l) => l.level === 'warn').map((l) => l.message), ...warningsOf(quantized, sink.entries)],
    },
    ...(stats ? { calibration: stats } : {}),
  };
}

function nothingQuantized(pipeline: string, why: string): NibbleError {
  return new NibbleError('E_BAD_OPTION', `the pipeline '${pipeline}' quantizes nothing (${why}): the output would be the float model under a quantized name`, {
    option: 'pipeline', value: pipeline,
    hint: 'name a recipe (`nibble recipes`) or end the pipeline with quant-policy and quantize, e.g. "fold-bn,mark-fused-relu,quant-policy,clip-minmax,quantize"; pass --allow-unquantized if a float copy is what you want',
  });
}

/** A pipeline without a quantize pass cannot quantize: refused before any model or data is read, unless allowed. */
export function checkPlanQuantizes(plan: QuantizePlan, allowUnquantized = false): void {
  if (allowUnquantized) return;
  if (!plan.invocations.some((inv) => inv.pass.name === 'quantize')) {
    throw nothingQuantized(plan.pipeline, plan.invocations.length === 0 ? 'it is empty' : 'it has no quantize pass');
  }
}

/**
 * Write a quantized model as a QDQ ONNX file (opset 21, int4/uint4 where
 * the grids fit), atomically: a QuantizeResult's bytes as they are, or the
 * QDQ lowering of an annotated model.
 */
export function saveQuantized(quantized: QuantizeResult | Model, path: string): void {
  checkSavePath(path, {}, 'onnx' in quantized ? quantized.report.target : undefined);
  const onnx = 'onnx' in quantized ? quantized.onnx : writeOnnx(lowerToQdq(quantized), { file: path });
  if (isEntropyPath(path)) writeEntropyContainerFile(path, onnx);
  else writeFileAtomic(path, onnx);
}

const isEntropyPath = (path: string): boolean => extname(path).toLowerCase() === '.nbz';

/**
 * Where saveQuantized may write: the target's file (checkQuantizedOutput),
 * or for an ONNX target a .nbz, the same file with its weights entropy-coded
 * (docs/entropy-container.md).
 */
export function checkSavePath(path: string, check: Omit<OutputCheck, 'extension'> = {}, target?: string): void {
  if (!isEntropyPath(path)) return checkQuantizedOutput(path, check, target);
  const t = getTarget(target);
  if (t.extension !== '.onnx') {
    throw new NibbleError('E_BAD_OPTION', `${path}: target ${t.name} is written as ${t.extension}; only ONNX files are entropy-coded (.nbz)`, { file: path, option: 'out', hint: `give a path ending in ${t.extension}` });
  }
  checkOutputPath(path, { ...check, extension: { ext: '.nbz', what: 'an entropy-coded quantized model' } });
}
