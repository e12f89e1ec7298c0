import type { Model, Value } from '@nibble/ir';
import { levelCount, paramsOfAnnotation } from '@nibble/quant';
import type { CalibrationStats, Histogram } from '@nibble/stats';
import { histogramChannelEntropy, levelEntropy } from './entropy';

/*
 * What an entropy coder can get down to, per quantized tensor and for the
 * model: the Shannon entropy of each channel's integer codes (weights:
 * their stored codes, exactly; activations: on the calibration histograms,
 * when the pipeline collected them) and the mean bits per value. Beside it
 * the fixed-length rate, mean log2 of the levels per value, which bounds
 * the entropy (and which alloc-bins' budget holds).
 */

export interface TensorCodeEntropy {
  name: string;
  kind: 'weight' | 'activation';
  /** Entropy of each channel's codes, bits per value (null: no histograms for this activation). */
  perChannel: number[] | null;
  /** Mean over the tensor's values. */
  meanBits: number | null;
  /** Mean log2 of the channels' levels: the fixed-length rate. */
  log2Levels: number;
  /** Values counted: a weight's elements, an activation's calibration values. */
  values: number;
}

export interface CodeEntropy {
  /** Mean entropy per value over the model's weights (by elements) and activations (by calibration values). */
  meanBits: { weights: number | null; activations: number | null };
  /** The same means of log2 levels. */
  meanLog2Levels: { weights: number | null; activations: number | null };
  perTensor: TensorCodeEntropy[];
}

function log2Levels(v: Value, weights?: ArrayLike<number>): number {
  const p = paramsOfAnnotation(v.quant!, v.name);
  let s = 0;
  let w = 0;
  for (let c = 0; c < p.scale.length; c++) {
    const k = weights ? weights[c] : 1;
    s += Math.log2(levelCount(p, c)) * k;
    w += k;
  }
  return w > 0 ? s / w : 0;
}

function weightEntropy(v: Value): TensorCodeEntropy | null {
  const codes = v.producer?.opType === 'DequantizeLinear' ? v.producer.inputs[0]?.const : undefined;
  if (!codes) return null;
  const p = paramsOfAnnotation(v.quant!, v.name);
  const e = levelEntropy(codes.toFloat64(), codes.shape, p.axis, p.scale.length);
  return { name: v.name, kind: 'weight', perChannel: Array.from(e.perChannel), meanBits: e.mean, log2Levels: log2Levels(v), values: codes.size };
}

function activationEntropy(v: Value, stats: CalibrationStats | undefined): TensorCodeEntropy {
  const p = paramsOfAnnotation(v.quant!, v.name);
  const s = stats?.has(v.name) ? stats.get(v.name) : undefined;
  const hs = p.scale.length === 1 ? [s?.perTensor.histogram] : s?.perChannel?.histograms;
  const usable = hs && hs.length === p.scale.length && hs.every((h) => h) ? (hs as Histogram[]) : null;
  if (!usable) return { name: v.name, kind: 'activation', perChannel: null, meanBits: null, log2Levels: log2Levels(v), values: 0 };
  const perChannel = usable.map((h, c) => histogramChannelEntropy(h, p, c));
  const counts = usable.map((h) => h.count);
  const total = counts.reduce((a, b) => a + b, 0);
  const meanBits = total > 0 ? perChannel.reduce((a, e, c) => a + e * counts[c], 0) / total : null;
  return { name: v.name, kind: 'activation', perChannel, meanBits, log2Levels: log2Levels(v, counts), values: total };
}

/** Entropy of the codes of every quantized tensor of `model` (a quantize result's model and calibration statistics). */
export function codeEntropyOf(model: Model, stats?: CalibrationStats): CodeEntropy {
  const g = model.graph;
  const perTensor: TensorCodeEntropy[] = [];
  const seen = new Set<Value>();
  for (const v of [...g.inputs, ...g.initializers, ...g.nodes.flatMap((n) => n.outputs)]) {
    if (seen.has(v) || !v.quant?.scale) continue;
    seen.add(v);
    const weight = v.producer?.opType === 'DequantizeLinear' && v.producer.inputs[0]?.const !== undefined;
    const t = weight ? weightEntropy(v) : activationEntropy(v, stats);
    if (t) perTensor.push(t);
  }
  const mean = (kind: TensorCodeEntropy['kind'], of: (t: TensorCodeEntropy) => number | null): number | null => {
    const rows = perTensor.filter((t) => t.kind === kind);
    if (rows.length === 0 || rows.some((t) => of(t) === null || t.values === 0)) return null;
    const n = rows.reduce((a, t) => a + t.values, 0);
    return rows.reduce((a, t) => a + of(t)! * t.values, 0) / n;
  };
  return {
    meanBits: { weights: mean('weight', (t) => t.meanBits), activations: mean('activation', (t) => t.meanBits) },
    meanLog2Levels: { weights: mean('weight', (t) => t.log2Levels), activations: mean('activation', (t) => t.log2Levels) },
    perTensor,
  };
}
