import type { Model, Value } from '@nibble/ir';
import { paramsOfAnnotation } from '@nibble/quant';
import type { CalibrationStats, Histogram } from '@nibble/stats';
import type { QuantizeResult } from '../quantize';

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
  histogram?: ReportHistogram;
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
  tensors: ReportTensor[];
  warnings: string[];
}

const COMPUTE = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

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

export function reportData(result: QuantizeResult, files: { model: string; out: string }): ReportData {
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
    const layer = weight ? (v.uses.find((u) => COMPUTE.has(u.node.opType)) ?? v.uses[0])?.node : v.producer;
    const shape = weight ? (v.const ?? v.producer?.inputs[0]?.const)?.shape : v.type?.shape;
    const histogram = !weight && stats?.has(v.name) ? histogramOf(stats.get(v.name).perTensor.histogram) : undefined;
    tensors.push({
      name: v.name, kind: t.kind, node: layer?.name || '(input)', op: layer?.opType ?? 'input',
      shape: shape ? `[${shape.map((d) => d ?? '?').join(',')}]` : '?', container: t.container,
      bits: Array.from(paramsOfAnnotation(v.quant, v.name).bits), clip: clipRange(v), observed: observedOf(v, weight, stats),
      rangeSource: t.rangeSource ?? '', ...(histogram ? { histogram } : {}),
    });
  }
  return {
    title: `nibble report: ${files.out}`,
    model: files.model, out: files.out, recipe: r.recipe ?? null, pipeline: r.pipeline, pipelineFull: r.pipelineFull,
    preprocess: r.preprocess && r.preprocess.source !== 'none' ? r.preprocess.text : null,
    calibration: r.calibration ? `${r.calibration.samples} samples${r.calibration.data ? ` of ${r.calibration.data}` : ''}` : null,
    sizes: r.sizeBytes, meanBits: r.meanBits,
    passes: r.timings.passes.map((p) => ({ pass: p.pass, ms: p.ms + p.analysesMs })), totalMs: r.timings.totalMs,
    tensors, warnings: r.warnings,
  };
}
