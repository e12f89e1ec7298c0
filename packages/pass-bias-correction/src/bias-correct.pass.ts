import { definePass, type PassContext, requirement } from '@nibble/core';
import { attr, BIAS_CORRECTION_KEY, constantTensor, FLOAT_WEIGHT_KEY, type Graph, NibbleError, type Node, quantPointOf, Tensor, type Value, WEIGHT_ROUNDING_KEY } from '@nibble/ir';
import { type AffineParams, dequantize, paramsOfAnnotation, representableRange, scaleTensor, zeroPointTensor } from '@nibble/quant';
import { CALIBRATION_STATS } from '@nibble/stats';
import { foldResidualIntoBias } from './layer-bias';
import { type BiasCorrectionForm, type BiasCorrectionMode, weightCorrection } from './math/correction';
import { foldCorrection } from './math/fold';

/** What bias-correct records on a corrected weight (and on the Add carrying the shift, with fold=exact); the key lives in @nibble/ir. */
export { BIAS_CORRECTION_KEY };

export interface BiasCorrectionRecord {
  mode: BiasCorrectionMode;
  form: BiasCorrectionForm;
  fold: 'exact' | 'bias';
}

/**
 * bias-correct: METHOD.md section 3 on every weight quantize turned into
 * DequantizeLinear. The correction w' = xi_c w_q + shift_c per output
 * channel is folded as
 * - fold=exact (default, what the paper evaluates): scale *= xi in the
 *   DequantizeLinear, and the mean shift as an explicit per-channel
 *   constant Add after it; the corrected weights are off the integer grid;
 * - fold=bias (deployable by an integer backend): scale *= xi, whole steps of
 *   the shift into the zero point, the rest into the layer's bias in
 *   expectation over the calibration inputs (their per-channel means).
 */
export const biasCorrectPass = definePass({
  name: 'bias-correct',
  summary: 'correct the mean (and std) shift quantization causes in each weight output channel',
  description: [
    'mode=mean restores each output channel\'s mean, mode=mean-var its std too (xi = ||W - E W|| / ||Wq - E Wq||).',
    'form=code: w <- xi (w - E[Wq]) + E[W]; form=paper: w <- xi (w + E[W] - E[Wq]) (same in mode=mean).',
    'fold=exact keeps the shift as a per-channel Add after the DequantizeLinear (simulation of the paper);',
    'fold=bias moves whole steps into the zero point and the rest into the bias, using the calibration',
    'means of the layer\'s input (what an integer backend can run). Per-tensor weights become per channel.',
  ].join('\n'),
  options: {
    mode: { type: 'enum', values: ['mean', 'mean-var'], default: 'mean', description: 'restore the mean, or the mean and the std' },
    form: { type: 'enum', values: ['code', 'paper'], default: 'code', description: 'the reference code\'s formula or the paper\'s (they differ in mean-var only)' },
    fold: { type: 'enum', values: ['exact', 'bias'], default: 'exact', description: 'exact: per-channel Add on the weights; bias: zero point + layer bias (deployable)' },
    zeroPoint: { type: 'boolean', default: true, description: 'fold=bias: move whole steps of the shift into the zero point; false: keep it (symmetric weights) and fold all of the shift into the bias' },
  },
  // fold=bias reads the layer inputs' means from the float model's statistics, which quantize keeps cached:
  // declared so calibration collects them, never computed here (they would be the quantized graph's).
  requires: (opts) => (opts.fold === 'bias' ? [requirement(CALIBRATION_STATS, { layerInputs: true }, { lazy: true })] : []),
  preserves: [CALIBRATION_STATS],
  async run(graph, ctx, opts) {
    const targets = graph.nodes.filter((n) => n.opType === 'DequantizeLinear' && n.outputs[0].quant?.scale && n.outputs[0].meta[FLOAT_WEIGHT_KEY]);
    let corrected = 0;
    let chosen = 0;
    for (const dq of targets) {
      if (dq.outputs[0].meta[BIAS_CORRECTION_KEY]) continue;
      // Codes chosen on the calibration data (gptq) already hold each output's error least there, its mean
      // included; restoring the weights' own channel means would move those outputs away again.
      if (dq.outputs[0].meta[WEIGHT_ROUNDING_KEY]) {
        chosen++;
        continue;
      }
      await correct(graph, ctx, dq, opts);
      corrected++;
    }
    if (targets.length === 0) ctx.logger.warn('bias-correct: no quantized weights (run quantize first)');
    ctx.report.record('corrected', { weights: corrected, ...(chosen > 0 ? { leftToGptq: chosen } : {}), ...opts });
    return { graph, modified: corrected > 0 };
  },
});

function bad(v: Value, why: string): NibbleError {
  return new NibbleError('E_INVALID_GRAPH', `bias-correct: '${v.name}' ${why}`, {
    pass: 'bias-correct', value: v.name, hint: 'bias-correct reads what quantize leaves; run quant-policy and quantize again',
  });
}

/** Per-tensor parameters repeated per channel along `axis`. */
function perChannel(p: AffineParams, channels: number, axis: number): AffineParams {
  return {
    scale: new Float64Array(channels).fill(p.scale[0]),
    zeroPoint: new Int32Array(channels).fill(p.zeroPoint[0]),
    bits: new Int32Array(channels).fill(p.bits[0]),
    axis,
    signed: p.signed,
    ...(p.levels ? { levels: new Int32Array(channels).fill(p.levels[0]) } : {}),
  };
}

/** Replace the initializer at input `index` of `node` by `t` under the same name. */
function replaceConstant(graph: Graph, node: Node, index: number, t: Tensor): void {
  const old = node.inputs[index]!;
  const name = old.name;
  node.replaceInput(index, null);
  let base = name;
  if (old.isInitializer && old.uses.length === 0 && !old.isGraphOutput) graph.removeInitializer(old);
  else base = `${name}_corrected`;
  node.replaceInput(index, graph.addInitializer(graph.uniqueName(base), t));
}

async function correct(graph: Graph, ctx: PassContext, dq: Node, opts: { mode: BiasCorrectionMode; form: BiasCorrectionForm; fold: 'exact' | 'bias'; zeroPoint: boolean }): Promise<void> {
  const out = dq.outputs[0];
  const point = quantPointOf(out);
  const float = out.meta[FLOAT_WEIGHT_KEY] as Tensor;
  const levelsT = constantTensor(dq.inputs[0]);
  if (!point || point.kind !== 'weight' || !levelsT || levelsT.size !== float.size) throw bad(out, 'is not a weight quantize left (mark, levels or float weight missing)');
  const shape = float.shape;
  const axis = point.axis;
  let params = paramsOfAnnotation(out.quant!, out.name);
  if (params.axis === null) params = perChannel(params, shape[axis], axis);
  else if (params.axis !== axis) throw bad(out, `is quantized along axis ${params.axis}, not its output-channel axis ${axis}`);
  const levels = levelsT.toFloat64();
  const wq = dequantize(levels, shape, params, out.name);
  const corr = weightCorrection(float.toFloat64(), wq, shape, { axis, mode: opts.mode, form: opts.form, name: out.name });
  const folded = foldCorrection(levels, shape, params, corr, { shiftZeroPoint: opts.fold === 'bias' && opts.zeroPoint, name: out.name });

  const p = folded.params;
  replaceConstant(graph, dq, 1, scaleTensor(p, out.name));
  replaceConstant(graph, dq, 2, zeroPointTensor(p, levelsT.dtype, out.name));
  dq.setAttr('axis', attr.int(axis));
  const range = representableRange(p);
  out.quant = { ...out.quant!, axis, bits: p.bits, scale: p.scale, zeroPoint: p.zeroPoint, range: { lo: range.lo.map((x) => x + 0), hi: range.hi.map((x) => x + 0) } };

  const record: BiasCorrectionRecord = { mode: opts.mode, form: opts.form, fold: opts.fold };
  out.meta[BIAS_CORRECTION_KEY] = record;
  let maxBiasDelta = 0;
  if (opts.fold === 'exact') addShift(graph, dq, folded.residual, shape.length, axis, record);
  else for (const u of [...out.uses]) maxBiasDelta = Math.max(maxBiasDelta, foldResidualIntoBias(graph, ctx, u.node, out, folded.residual, shape));

  const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  ctx.report.record('correction', {
    channels: corr.xi.length,
    maxShift: maxAbs(corr.shift),
    maxXiDeviation: maxAbs(corr.xi.map((x) => x - 1)),
    zeroPointsMoved: folded.zeroPointShift.filter((k) => k !== 0).length,
    maxResidual: maxAbs(folded.residual),
    ...(opts.fold === 'bias' ? { maxBiasDelta } : {}),
  }, out.name);
}

/** fold=exact: DequantizeLinear -> Add(shift per output channel) -> the layers. */
function addShift(graph: Graph, dq: Node, shift: Float64Array, rank: number, axis: number, record: BiasCorrectionRecord): void {
  const out = dq.outputs[0];
  const shape = Array.from({ length: rank }, (_, i) => (i === axis ? shift.length : 1));
  const constant = graph.addInitializer(graph.uniqueName(`${out.name}_shift`), Tensor.from('float32', shape, shift));
  const readers = [...out.uses];
  const add = graph.insertNodeAfter(dq, {
    opType: 'Add', name: graph.uniqueName(`${out.name}_bias_correct`), inputs: [out, constant], outputs: [graph.uniqueName(`${out.name}_corrected`)],
  });
  const fixed = add.outputs[0];
  fixed.type = out.type && { dtype: out.type.dtype, shape: out.type.shape && [...out.type.shape] };
  fixed.meta[BIAS_CORRECTION_KEY] = record;
  for (const u of readers) u.node.replaceInput(u.index, fixed);
}
