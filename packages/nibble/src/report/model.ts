import { FLOAT_WEIGHT_KEY, type Model, type Node, readerBoundsOf, type Tensor, type Value } from '@nibble/ir';
import { type AffineParams, dequantize, fakeQuantize, paramsOfAnnotation } from '@nibble/quant';
import { clipCandidates, type ClipCandidate } from '@nibble/pass-clipping';
import type { CalibrationStats, Histogram } from '@nibble/stats';
import type { QuantizeResult } from '../quantize';
import { histogramCodeEntropy, levelEntropy } from './entropy';

/*
 * What the HTML report shows, gathered from a quantize result as plain data
 * (tested without a browser): one row per quantized tensor with its clip
 * range against what calibration observed, bits per channel, and the
 * activation histograms when calibration collected them.
 */

export interface ReportHistogram {
  /** Lower edge of the first bin and the bin width. */
  lo: number;
  width: number;
  counts: number[];
}

export interface ReportTensor {
  name: string;
  kind: 'weight' | 'activation';
  /** The layer that reads a weight or writes an activation. */
  node: string;
  op: string;
  shape: string;
  container: string;
  bits: number[];
  /** The clipping range the quantizer kept (union over channels). */
  clip: [number, number];
  /** What calibration (or the constant) held. */
  observed: [number, number] | null;
  rangeSource: string;
  /**
   * Signal-to-quantization-noise ratio in dB (10 log10 of sum x^2 over sum
   * (x - x^)^2): exact for weights (the float tensor against its grid),
   * estimated for activations from the calibration histograms (bin centres
   * through the grid); null where neither is available.
   */
  sqnrDb: number | null;
  sqnrFrom: 'weights' | 'histogram' | null;
  /** Shannon entropy of the integer codes in bits per value (weights: exact; activations: on the calibration histograms). */
  entropyBits: number | null;
  histogram?: ReportHistogram;
  /** What each clipping method would choose for this activation at its bits (per tensor, from calibration). */
  candidates?: ClipCandidate[];
}

/** The quantized model against its float original on labelled data (when the caller evaluated both). */
export interface ReportEvaluation {
  data: string;
  n: number;
  floatTop1: number;
  quantizedTop1: number;
  /** Top-1 agreement of the two, mean KL(p_float || p_quant) in nats, and the logits' SQNR. */
  agree: number;
  meanKl: number;
  sqnrLogitsDb: number;
}

/** A weight's measured sensitivity and the width mixed-precision chose for it. */
export interface ReportSensitivity {
  value: string;
  /** What competed for the budget: weights (params = parameters) or activations (params = elements per sample). */
  target?: 'weights' | 'activations';
  params: number;
  /** Output SQNR with only this value quantized (null: the output did not change). */
  sqnrDb: number | null;
  bitsBefore: number;
  bitsAfter: number;
}

/** What gptq did to one weight: its layer's output SQNR with nearest and with chosen codes, or why it kept the nearest. */
export interface ReportWeightCodes {
  value: string;
  layer?: string;
  columns?: number;
  vectors?: number;
  nearestDb?: number;
  gptqDb?: number;
  skipped?: string;
}

export interface ReportData {
  title: string;
  model: string;
  out: string;
  recipe: string | null;
  pipeline: string;
  pipelineFull: string;
  preprocess: string | null;
  calibration: string | null;
  sizes: { float: number; quantized: number };
  meanBits: { weights: number | null; activations: number | null };
  passes: { pass: string; ms: number }[];
  totalMs: number;
  /** mixed-precision's per-layer measurements, most sensitive first (absent when the pipeline has no such pass). */
  sensitivity?: ReportSensitivity[];
  /** gptq's per-weight results, in graph order (absent when the pipeline has no gptq). */
  weightCodes?: ReportWeightCodes[];
  tensors: ReportTensor[];
  warnings: string[];
  evaluation?: ReportEvaluation;
  /** Entropy of the codes, in bits per value: weights weighted by their sizes, activations by their channels (as meanBits). */
  meanEntropyBits: { weights: number | null; activations: number | null };
}

const COMPUTE = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/**
 * The layer a weight feeds: its Conv/Gemm/MatMul, looked for through the
 * elementwise steps passes put between them (bias correction's Add or Mul).
 */
function layerReading(v: Value): Node | undefined {
  let frontier: Value[] = [v];
  for (let hop = 0; hop < 3 && frontier.length; hop++) {
    const compute = frontier.flatMap((x) => x.uses).find((u) => COMPUTE.has(u.node.opType));
    if (compute) return compute.node;
    frontier = frontier.flatMap((x) => x.uses).filter((u) => PASS_THROUGH.has(u.node.opType)).flatMap((u) => u.node.outputs);
  }
  return v.uses[0]?.node;
}

const PASS_THROUGH = new Set(['Add', 'Mul', 'Sub', 'Identity', 'Reshape', 'Cast']);

function clipRange(v: Value): [number, number] {
  const p = paramsOfAnnotation(v.quant!, v.name);
  let lo = Infinity;
  let hi = -Infinity;
  for (let c = 0; c < p.scale.length; c++) {
    const b = p.bits[c];
    const qmin = p.signed ? -(2 ** (b - 1)) : 0;
    const qmax = p.signed ? 2 ** (b - 1) - 1 : 2 ** b - 1;
    lo = Math.min(lo, p.scale[c] * (qmin - p.zeroPoint[c]));
    hi = Math.max(hi, p.scale[c] * (qmax - p.zeroPoint[c]));
  }
  return [lo, hi];
}

function histogramOf(h: Histogram | undefined): ReportHistogram | undefined {
  if (!h || h.count === 0 || h.bins === 0) return undefined;
  // At most 128 bars: neighbouring bins are summed, so the file stays small and the picture the same.
  const group = Math.max(1, Math.ceil(h.bins / 128));
  const counts: number[] = [];
  for (let i = 0; i < h.bins; i += group) {
    let s = 0;
    for (let k = i; k < Math.min(h.bins, i + group); k++) s += h.counts[k];
    counts.push(s);
  }
  return { lo: h.edge(0), width: h.binWidth * group, counts };
}

/**
 * The clipping methods' ranges for an activation at its grid's bits (the
 * channels' mean, rounded: the candidates are per tensor); none for a 0-bit
 * grid or statistics without the mean absolute deviation ACIQ needs.
 */
function candidatesOf(v: Value, stats: CalibrationStats): ClipCandidate[] | undefined {
  const s = stats.get(v.name).perTensor;
  const bits = paramsOfAnnotation(v.quant!, v.name).bits;
  const mean = Math.round(Array.from(bits).reduce((a, b) => a + b, 0) / bits.length);
  if (mean < 1 || !Number.isFinite(s.mad)) return undefined;
  const reader = readerBoundsOf(v);
  return clipCandidates(s, { bits: Math.min(mean, 16), oneSided: reader.oneSided, ...(reader.upperBound === undefined ? {} : { upperBound: reader.upperBound }), where: v.name });
}

function observedOf(v: Value, weight: boolean, stats: CalibrationStats | undefined): [number, number] | null {
  if (!stats) return null;
  const name = weight && v.producer?.opType === 'DequantizeLinear' ? v.name : v.name;
  try {
    const s = weight ? (stats.hasWeights(name) ? stats.weights(name) : undefined) : stats.has(name) ? stats.get(name) : undefined;
    return s ? [s.perTensor.min, s.perTensor.max] : null;
  } catch {
    return null;
  }
}

type ReaderBounds = ReturnType<typeof readerBoundsOf>;

const toDb = (signal: number, noise: number): number => (noise === 0 ? Infinity : 10 * Math.log10(signal / noise));

/** A weight's SQNR: its float tensor (kept by quantize) against the levels its DequantizeLinear reads. */
function weightSqnr(v: Value): number | null {
  const float = v.meta[FLOAT_WEIGHT_KEY] as Tensor | undefined;
  const levels = v.producer?.opType === 'DequantizeLinear' ? v.producer.inputs[0]?.const : undefined;
  if (!float || !levels || levels.size !== float.size) return null;
  const x = float.toFloat64();
  const xq = dequantize(levels.toFloat64(), levels.shape, paramsOfAnnotation(v.quant!, v.name), v.name);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < x.length; i++) {
    signal += x[i] * x[i];
    noise += (x[i] - xq[i]) ** 2;
  }
  return toDb(signal, noise);
}

/**
 * SQNR of the values a set of histograms counts (one histogram per channel
 * of `p`, or one for a per-tensor grid), every bin's count taken at its
 * centre through the channel's grid: calibration's estimate of an
 * activation's quantization noise, without a second pass over the data.
 */
export function histogramSqnr(histograms: readonly Histogram[], p: AffineParams, name = 'tensor', reader: ReaderBounds = { oneSided: false }): number | null {
  if (histograms.length !== p.scale.length) return null;
  let signal = 0;
  let noise = 0;
  for (let c = 0; c < p.scale.length; c++) {
    const h = histograms[c];
    // A value a fused ReLU (or a ReLU6-like Clip) reads is what it reads: negatives are zeros, not noise.
    const centres = Float64Array.from({ length: h.bins }, (_, k) => {
      const x = h.edge(k) + h.binWidth / 2;
      const y = reader.oneSided ? Math.max(x, 0) : x;
      return reader.upperBound === undefined ? y : Math.min(y, reader.upperBound);
    });
    const one: AffineParams = { scale: p.scale.subarray(c, c + 1), zeroPoint: p.zeroPoint.subarray(c, c + 1), bits: p.bits.subarray(c, c + 1), axis: null, signed: p.signed };
    const xq = fakeQuantize(centres, [h.bins], one, name);
    for (let k = 0; k < h.bins; k++) {
      signal += h.counts[k] * centres[k] * centres[k];
      noise += h.counts[k] * (centres[k] - xq[k]) ** 2;
    }
  }
  return signal > 0 ? toDb(signal, noise) : null;
}

/** Entropy of a weight's stored levels (exact). */
function weightEntropy(v: Value): number | null {
  const levels = v.producer?.opType === 'DequantizeLinear' ? v.producer.inputs[0]?.const : undefined;
  if (!levels) return null;
  const p = paramsOfAnnotation(v.quant!, v.name);
  return levelEntropy(levels.toFloat64(), levels.shape, p.axis, p.scale.length).mean;
}

/** Entropy of an activation's codes on the calibration data, from the histograms that match its grid. */
function activationEntropy(v: Value, stats: CalibrationStats | undefined): number | null {
  const h = activationHistograms(v, stats);
  return h ? histogramCodeEntropy(h, paramsOfAnnotation(v.quant!, v.name)) : null;
}

/** The histograms an activation's grid reads: per channel for a per-channel grid, the per-tensor one otherwise. */
function activationHistograms(v: Value, stats: CalibrationStats | undefined): Histogram[] | null {
  if (!stats?.has(v.name)) return null;
  const p = paramsOfAnnotation(v.quant!, v.name);
  const s = stats.get(v.name);
  const histograms = p.scale.length === 1 ? [s.perTensor.histogram] : s.perChannel?.histograms;
  return !histograms || histograms.some((h) => !h) ? null : (histograms as Histogram[]);
}

/** An activation's SQNR from calibration: per-channel grids read per-channel histograms, a per-tensor grid the per-tensor one. */
function activationSqnr(v: Value, stats: CalibrationStats | undefined): number | null {
  const h = activationHistograms(v, stats);
  return h ? histogramSqnr(h, paramsOfAnnotation(v.quant!, v.name), v.name, readerBoundsOf(v)) : null;
}

/** Model-wide entropy per value: weights weighted by element counts, activations by channels (as the quantize report's mean bits). */
function meanEntropy(tensors: ReportTensor[], perTensor: QuantizeResult['report']['perTensor']): ReportData['meanEntropyBits'] {
  const elements = new Map(perTensor.map((t) => [t.name, t.elements ?? 0]));
  const mean = (kind: ReportTensor['kind'], weightOf: (t: ReportTensor) => number): number | null => {
    const rows = tensors.filter((t) => t.kind === kind);
    if (rows.length === 0 || rows.some((t) => t.entropyBits === null)) return null;
    const w = rows.reduce((s, t) => s + weightOf(t), 0);
    return w > 0 ? rows.reduce((s, t) => s + t.entropyBits! * weightOf(t), 0) / w : null;
  };
  return { weights: mean('weight', (t) => elements.get(t.name) ?? 0), activations: mean('activation', (t) => t.bits.length) };
}

export function reportData(result: QuantizeResult, files: { model: string; out: string }, evaluation?: ReportEvaluation): ReportData {
  const model: Model = result.model;
  const r = result.report;
  const stats = result.calibration;
  const byName = new Map(r.perTensor.map((t) => [t.name, t]));
  const tensors: ReportTensor[] = [];
  const g = model.graph;
  for (const v of [...g.inputs, ...g.initializers, ...g.nodes.flatMap((n) => n.outputs)]) {
    const t = byName.get(v.name);
    if (!t || !v.quant) continue;
    const weight = t.kind === 'weight';
    const layer = weight ? layerReading(v) : v.producer;
    const shape = weight ? (v.const ?? v.producer?.inputs[0]?.const)?.shape : v.type?.shape;
    const histogram = !weight && stats?.has(v.name) ? histogramOf(stats.get(v.name).perTensor.histogram) : undefined;
    const candidates = histogram ? candidatesOf(v, stats!) : undefined;
    const sqnrDb = weight ? weightSqnr(v) : activationSqnr(v, stats);
    const entropyBits = weight ? weightEntropy(v) : activationEntropy(v, stats);
    tensors.push({
      name: v.name, kind: t.kind, node: layer?.name || '(input)', op: layer?.opType ?? 'input',
      shape: shape ? `[${shape.map((d) => d ?? '?').join(',')}]` : '?', container: t.container,
      bits: Array.from(paramsOfAnnotation(v.quant, v.name).bits), clip: clipRange(v), observed: observedOf(v, weight, stats),
      rangeSource: t.rangeSource ?? '', sqnrDb, sqnrFrom: sqnrDb === null ? null : weight ? 'weights' : 'histogram', entropyBits,
      ...(histogram ? { histogram } : {}),
      ...(candidates ? { candidates } : {}),
    });
  }
  return {
    title: `nibble report: ${files.out}`,
    model: files.model, out: files.out, recipe: r.recipe ?? null, pipeline: r.pipeline, pipelineFull: r.pipelineFull,
    preprocess: r.preprocess && r.preprocess.source !== 'none' ? r.preprocess.text : null,
    calibration: r.calibration ? `${r.calibration.samples} samples${r.calibration.data ? ` of ${r.calibration.data}` : ''}` : null,
    sizes: r.sizeBytes, meanBits: r.meanBits,
    passes: r.timings.passes.map((p) => ({ pass: p.pass, ms: p.ms + p.analysesMs })), totalMs: r.timings.totalMs,
    tensors, warnings: r.warnings, ...(evaluation ? { evaluation } : {}), meanEntropyBits: meanEntropy(tensors, r.perTensor),
    ...sensitivityOf(r.facts),
    ...weightCodesOf(r.facts),
  };
}

/** gptq's 'weight' and 'skipped' facts, one row per weight. */
function weightCodesOf(facts: QuantizeResult['report']['facts']): { weightCodes?: ReportWeightCodes[] } {
  const rows: ReportWeightCodes[] = [];
  for (const f of facts) {
    if (f.pass !== 'gptq' || !f.subject) continue;
    const v = f.value as Record<string, unknown>;
    if (f.key === 'weight') {
      rows.push({ value: f.subject, layer: v.layer as string, columns: v.columns as number, vectors: v.vectors as number, nearestDb: v.nearestDb as number, gptqDb: v.gptqDb as number });
    } else if (f.key === 'skipped') rows.push({ value: f.subject, skipped: v.reason as string });
  }
  return rows.length > 0 ? { weightCodes: rows } : {};
}

/** mixed-precision's 'layer' facts, most sensitive (lowest output SQNR) first. */
function sensitivityOf(facts: QuantizeResult['report']['facts']): { sensitivity?: ReportSensitivity[] } {
  const rows = facts.filter((f) => f.pass === 'mixed-precision' && f.key === 'layer').map((f) => f.value as unknown as ReportSensitivity);
  if (rows.length === 0) return {};
  const key = (r: ReportSensitivity) => r.sqnrDb ?? Infinity;
  return { sensitivity: [...rows].sort((a, b) => key(a) - key(b) || (a.value < b.value ? -1 : 1)) };
}
