import type { PassContext } from '@nibble/core';
import { constantTensor, type Graph, moveQuantPoint, NibbleError, type Node, Tensor, type Value } from '@nibble/ir';
import { CALIBRATION_STATS, type ValueStatistics } from '@nibble/stats';
import { biasFromResidual } from './math/fold';

/*
 * fold=bias: the per-channel residual r_c of the weights goes into the
 * consuming layer's bias, in expectation over the calibration inputs
 * (math/fold.ts says why it cannot be exact). Each layer kind keeps its
 * bias somewhere else: Conv input 2, Gemm's C (scaled by alpha / beta),
 * the Add that follows a MatMul (one is added when there is none).
 */

function unsupported(node: Node, why: string): NibbleError {
  return new NibbleError('E_UNSUPPORTED', `bias-correct{fold=bias}: ${node.opType} '${node.name}' ${why}`, {
    pass: 'bias-correct', node: node.name, op: node.opType,
    hint: 'use bias-correct{fold=exact} (the default), which keeps the correction as a per-channel Add on the weights',
  });
}

/** The calibration statistics of the layer's data input (input 0). */
function inputStats(ctx: PassContext, node: Node): ValueStatistics {
  const x = node.inputs[0];
  if (!x) throw unsupported(node, 'has no data input');
  // Statistics computed now would be of the weight-quantized graph (quantize takes the float ones when
  // calibration data is given); refuse rather than fold against the wrong means.
  const stats = ctx.getCachedAnalysis(CALIBRATION_STATS);
  if (!stats) {
    throw new NibbleError('E_BAD_OPTION', 'bias-correct{fold=bias} needs the float model\'s calibration statistics, and none were computed before quantize', {
      pass: 'bias-correct', option: 'fold',
      hint: 'give calibration data to the pipeline (quantize then keeps the float statistics), or use fold=exact',
    });
  }
  if (!stats.has(x.name)) {
    throw new NibbleError('E_BAD_OPTION', `bias-correct{fold=bias}: the calibration statistics hold no means of '${x.name}', the input of ${node.opType} '${node.name}'`, {
      pass: 'bias-correct', node: node.name, value: x.name,
      hint: 'calibrate after quant-policy has marked the layer, with the calibration option layerInputs left on (the default), or use fold=exact',
    });
  }
  return stats.get(x.name);
}

/** The calibration mean of each channel (axis 1) of the layer's data input. */
function inputMeans(ctx: PassContext, node: Node, channels: number): Float64Array {
  const x = node.inputs[0]!;
  const s = inputStats(ctx, node);
  if (!s.perChannel || s.axis !== 1 || s.perChannel.channels !== channels) {
    throw unsupported(node, `reads '${x.name}', which has no per-channel calibration means along axis 1 for its ${channels} input channels`);
  }
  return Float64Array.from(s.perChannel.mean);
}

function float32(graph: Graph, base: string, shape: number[], values: ArrayLike<number>): Value {
  return graph.addInitializer(graph.uniqueName(base), Tensor.from('float32', shape, values));
}

/** A constant bias of `n` channels (size n, or one value broadcast), as float64 per channel. */
function biasValues(node: Node, v: Value | null, n: number): Float64Array | undefined {
  if (!v) return new Float64Array(n);
  const t = constantTensor(v);
  if (!t || !t.dtype.startsWith('float')) return undefined;
  const x = t.toFloat64();
  if (x.length === n) return x;
  return x.length === 1 ? new Float64Array(n).fill(x[0]) : undefined;
}

/** Point input `index` of `node` at a new bias (a fresh initializer: the old one may be shared). */
function setBias(graph: Graph, node: Node, index: number, base: string, shape: number[], values: Float64Array): void {
  const old = node.inputs[index] ?? null;
  const fresh = float32(graph, `${base}_corrected`, shape, values);
  if (index < node.inputs.length) node.replaceInput(index, fresh);
  else {
    while (node.inputs.length < index) node.appendInput(null);
    node.appendInput(fresh);
  }
  if (old && old.isInitializer && old.uses.length === 0 && !old.isGraphOutput) graph.removeInitializer(old);
}

/** Adds the expected effect of `residual` (per output channel of `weight`) to the bias of `node`. Returns the largest |delta|. */
export function foldResidualIntoBias(graph: Graph, ctx: PassContext, node: Node, weight: Value, residual: Float64Array, shape: readonly number[]): number {
  const std = node.domain === '' || node.domain === 'ai.onnx';
  if (!std || node.inputs[1] !== weight) throw unsupported(node, `reads the weight '${weight.name}' other than as its weight input`);
  const O = residual.length;
  let delta: Float64Array;
  if (node.opType === 'Conv') {
    const groups = node.getInt('group', 1);
    const means = inputMeans(ctx, node, shape[1] * groups);
    delta = biasFromResidual(residual, shape, means, groups, weight.name);
    const b = biasValues(node, node.inputs[2] ?? null, O);
    if (!b) throw unsupported(node, 'has a bias that is not a constant of one value per output channel');
    setBias(graph, node, 2, node.inputs[2]?.name ?? `${node.name}_bias`, [O], b.map((x, c) => x + delta[c]));
  } else if (node.opType === 'Gemm') {
    if (node.getInt('transA', 0)) throw unsupported(node, 'has transA=1 (its input channels are not on axis 1)');
    const K = shape[node.getInt('transB', 0) ? 1 : 0];
    const means = inputMeans(ctx, node, K);
    const alpha = node.getFloat('alpha', 1);
    const beta = node.getFloat('beta', 1);
    if (beta === 0) throw unsupported(node, 'has beta=0 (its C input cannot carry a bias)');
    delta = biasFromResidual(residual, [O, K], means, 1, weight.name).map((d) => (alpha * d) / beta);
    const c = biasValues(node, node.inputs[2] ?? null, O);
    if (!c) throw unsupported(node, 'has a C input that is not a constant of one value per output');
    setBias(graph, node, 2, node.inputs[2]?.name ?? `${node.name}_bias`, [O], c.map((x, i) => x + delta[i]));
  } else if (node.opType === 'ConvTranspose') {
    // Weight [C, O/group, KH, KW], residual per output channel (axis 1). An output pixel receives on
    // average KH*KW/(sh*sw) taps of each input channel of its group (exactly one when kernel = stride,
    // DBNet's upsampling head), so the expected shift is r_o times that times the group's input means.
    const groups = node.getInt('group', 1);
    const [sh, sw] = node.getInts('strides', [1, 1]);
    const means = inputMeans(ctx, node, shape[0]);
    const taps = shape.slice(2).reduce((a, b) => a * b, 1) / (sh * sw);
    const perGroupIn = shape[0] / groups;
    delta = residual.map((r, o) => {
      const g = Math.floor(o / (O / groups));
      let sum = 0;
      for (let c = 0; c < perGroupIn; c++) sum += means[g * perGroupIn + c];
      return r * taps * sum;
    });
    const b = biasValues(node, node.inputs[2] ?? null, O);
    if (!b) throw unsupported(node, 'has a bias that is not a constant of one value per output channel');
    setBias(graph, node, 2, node.inputs[2]?.name ?? `${node.name}_bias`, [O], b.map((x, c) => x + delta[c]));
  } else if (node.opType === 'MatMul') {
    if (shape.length !== 2) throw unsupported(node, `has a rank-${shape.length} weight`);
    // Output n gains r_n * sum_k x_k, whose expectation sum_k E[x_k] is K times the mean over the whole input, at any
    // rank: every position along the leading axes holds all K channels. (A transformer's [batch, tokens, K] input has
    // its channels on the last axis, where calibration keeps no per-channel means.)
    const K = shape[0];
    const mean = inputStats(ctx, node).perTensor.mean;
    delta = biasFromResidual(residual, [O, K], new Float64Array(K).fill(mean), 1, weight.name);
    addAfterMatMul(graph, node, O, delta);
  } else {
    throw unsupported(node, 'is not a Conv, ConvTranspose, Gemm or MatMul');
  }
  return delta.reduce((m, d) => Math.max(m, Math.abs(d)), 0);
}

/** MatMul: add delta to the constant of the bias Add that follows it, or insert such an Add. */
function addAfterMatMul(graph: Graph, node: Node, n: number, delta: Float64Array): void {
  const out = node.outputs[0];
  const use = out.uses.length === 1 && !out.isGraphOutput ? out.uses[0] : undefined;
  const add = use && (use.node.domain === '' || use.node.domain === 'ai.onnx') && use.node.opType === 'Add' ? use.node : undefined;
  const other = add ? 1 - use!.index : -1;
  const b = add ? biasValues(add, add.inputs[other] ?? null, n) : undefined;
  if (add && b && constantTensor(add.inputs[other])!.shape.at(-1) === n) {
    const shape = [...constantTensor(add.inputs[other])!.shape];
    setBias(graph, add, other, add.inputs[other]!.name, shape, b.map((x, i) => x + delta[i]));
    return;
  }
  const bias = float32(graph, `${node.name}_bias_correction`, [n], delta);
  const readers = [...out.uses];
  const wasOutput = out.isGraphOutput;
  const sum = graph.insertNodeAfter(node, { opType: 'Add', name: graph.uniqueName(`${node.name}_bias_correct`), inputs: [out, bias], outputs: [graph.uniqueName(`${out.name}_corrected`)] });
  sum.outputs[0].type = out.type && { dtype: out.type.dtype, shape: out.type.shape && [...out.type.shape] };
  const fixed = sum.outputs[0];
  for (const u of readers) u.node.replaceInput(u.index, fixed);
  // The corrected sum is now the layer's output: its quantization and its name go with it.
  if (out.quant) {
    fixed.quant = out.quant;
    delete out.quant;
  }
  moveQuantPoint(out, fixed);
  if (wasOutput) {
    for (let i = 0; i < graph.outputs.length; i++) if (graph.outputs[i] === out) graph.outputs[i] = fixed;
    const name = out.name;
    out.rename(graph.uniqueName(`${name}_uncorrected`));
    fixed.rename(name);
  }
}
