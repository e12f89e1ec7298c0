import { attr, type Graph, type Node, type Tensor, type Value } from '@nibble/ir';
import { definePass } from '@nibble/core';
import { type BnParameters, bnMultiplier, foldedBias, outputChannels, scaleWeight, storeFloat, type WeightLayout } from './bn-fold-math';
import { constantThrough, removeUnusedConstantChain } from './constant-through';
import { type GraphScope, graphScope, isOnnxDomain, isOverridable, isUsed } from './graph-util';

const FLOATS = new Set(['float32', 'float64', 'float16']);

const AFFINE = ['Conv', 'ConvTranspose', 'Gemm'];
const isAffine = (n: Node): boolean => isOnnxDomain(n) && AFFINE.includes(n.opType);

/** Read by one node input and nothing else (no graph output, no subgraph). */
const readOnce = (v: Value, scope: GraphScope): boolean => v.uses.length === 1 && !v.isGraphOutput && !scope.outer.has(v.name);

/** A bias the exporter wrote as a separate Add of a constant (PaddlePaddle does so for ConvTranspose). */
interface BiasAdd {
  node: Node;
  constant: Value;
  tensor: Tensor;
}

interface Plan {
  producer: Node;
  add?: BiasAdd;
  layout: WeightLayout;
  group: number;
  weight: Tensor;
  /** The bias per output channel before the BN (Gemm: beta * C; plus a bias Add), or undefined for none. */
  bias: Float64Array | undefined;
  params: BnParameters;
}

/** The Conv/ConvTranspose/Gemm the BN input comes from, directly or through an Add of a constant. */
function findAffine(x: Value, scope: GraphScope): { producer: Node; add?: BiasAdd } | string {
  const p = x.producer;
  if (!p) return 'its input is a graph input or constant';
  if (isAffine(p)) return { producer: p };
  if (isOnnxDomain(p) && p.opType === 'Add') {
    for (const k of [1, 0]) {
      const constant = p.inputs[k];
      const tensor = constantThrough(constant, scope);
      const other = p.inputs[1 - k];
      if (!tensor || !other?.producer || !isAffine(other.producer)) continue;
      if (!readOnce(other, scope)) return `'${other.name}' is also read elsewhere, so the unnormalized value must stay`;
      return { producer: other.producer, add: { node: p, constant: constant!, tensor } };
    }
  }
  return `it follows ${p.opType} '${p.name}', not a Conv, ConvTranspose or Gemm (or one plus a constant bias)`;
}

/** An added constant as one value per channel, when it varies along the channel axis (1) of a rank-`rank` output only. */
function perChannel(t: Tensor, rank: number, channels: number): Float64Array | undefined {
  if (!FLOATS.has(t.dtype) || t.rank > rank) return undefined;
  const dims = [...Array(rank - t.rank).fill(1), ...t.shape];
  if (dims.some((d, a) => d !== 1 && !(a === 1 && d === channels))) return undefined;
  const v = t.toFloat64();
  return v.length === channels ? v : new Float64Array(channels).fill(v[0]);
}

function overridableReason(v: Value): string {
  return v.isGraphInput || v.meta.initializerIsInput !== true
    ? `'${v.name}' is a graph input the caller may override`
    : `'${v.name}' is an initializer the model also lists as an input, which the caller may override from IR 4 on (an IR 3 model gets it folded when the pass context holds the source model)`;
}

/** Why the BN cannot fold, or the plan to fold it. */
function plan(bn: Node, scope: GraphScope): Plan | string {
  if (bn.getInt('training_mode', 0) === 1) return 'it runs in training mode';
  if (bn.getInt('spatial', 1) === 0) return 'spatial=0 (statistics per element, not per channel)';
  if (bn.getInt('is_test', 1) === 0) return 'is_test=0 (training form)';
  if (bn.outputs.slice(1).some((v) => isUsed(v, scope))) return 'its running-statistics outputs are used';
  if (scope.outer.has(bn.outputs[0].name)) return 'a subgraph reads its output';
  const x = bn.inputs[0];
  if (!x) return 'it has no input';
  const found = findAffine(x, scope);
  if (typeof found === 'string') return found;
  const { producer, add } = found;
  if (!readOnce(x, scope)) return `'${x.name}' is also read elsewhere, so the unnormalized value must stay`;

  const overridable = [1, 2, 3, 4].map((i) => bn.inputs[i]).find((v) => v && isOverridable(v, scope));
  if (overridable) return overridableReason(overridable);
  const tensors = [1, 2, 3, 4].map((i) => constantThrough(bn.inputs[i], scope));
  if (tensors.some((t) => !t || !FLOATS.has(t.dtype))) return 'its scale, bias, mean or variance is not a float constant';
  const [gamma, beta, mean, variance] = tensors.map((t) => t!.toFloat64());
  const channels = gamma.length;
  if ([beta, mean, variance].some((a) => a.length !== channels) || tensors.some((t) => t!.rank !== 1)) return 'its parameters are not 1-D vectors of one length';
  const params = { gamma, beta, mean, variance, epsilon: bn.getFloat('epsilon', 1e-5) };

  const listed = [producer.inputs[1], producer.inputs[2]].find((v) => v && isOverridable(v, scope));
  if (listed) return overridableReason(listed);
  const weight = constantThrough(producer.inputs[1], scope);
  if (!weight || !FLOATS.has(weight.dtype)) return `the weights of '${producer.name}' are not a float constant`;
  const biasValue = producer.inputs[2] ?? null;
  const biasTensor = constantThrough(biasValue, scope);
  if (biasValue && (!biasTensor || !FLOATS.has(biasTensor.dtype))) return `the bias of '${producer.name}' is not a float constant`;

  let layout: WeightLayout;
  let group = 1;
  let bias: Float64Array | undefined;
  if (producer.opType === 'Gemm') {
    if (weight.rank !== 2) return `Gemm '${producer.name}' has a rank-${weight.rank} B`;
    layout = producer.getInt('transB', 0) === 1 ? 'gemm-rows' : 'gemm-cols';
    if (biasTensor) {
      // C may broadcast over rows only: one value, [N] or [1, N].
      const perColumn = biasTensor.size === 1 || (biasTensor.rank <= 2 && biasTensor.size === channels && biasTensor.shape[biasTensor.rank - 1] === channels);
      if (!perColumn) return `the C of Gemm '${producer.name}' ([${biasTensor.shape.join(',')}]) varies along rows`;
      const c = biasTensor.toFloat64();
      const betaAttr = producer.getFloat('beta', 1);
      bias = Float64Array.from({ length: channels }, (_, k) => betaAttr * c[c.length === 1 ? 0 : k]);
    }
  } else {
    group = producer.getInt('group', 1);
    layout = producer.opType === 'Conv' ? 'conv' : 'conv-transpose';
    if (weight.rank < 3) return `${producer.opType} '${producer.name}' has rank-${weight.rank} weights`;
    if (layout === 'conv-transpose' && (group < 1 || weight.shape[0] % group !== 0)) return `ConvTranspose '${producer.name}' has ${weight.shape[0]} input channels for group ${group}`;
    if (biasTensor) {
      if (biasTensor.rank !== 1 || biasTensor.size !== channels) return `the bias of '${producer.name}' has shape [${biasTensor.shape.join(',')}]`;
      bias = biasTensor.toFloat64();
    }
  }
  const produced = outputChannels(layout, weight.shape, group);
  if (produced !== channels) return `'${producer.name}' produces ${produced} channels but the BatchNormalization has ${channels}`;
  if (add) {
    const rank = producer.opType === 'Gemm' ? 2 : weight.rank;
    const extra = perChannel(add.tensor, rank, channels);
    if (!extra) return `the constant added by '${add.node.name}' ([${add.tensor.shape.join(',')}]) is not one value per channel`;
    bias = extra.map((v, c) => v + (bias ? bias[c] : 0));
  }
  return { producer, add, layout, group, weight, bias, params };
}

/** Carry what passes attached to the BN output over to the value that replaces it. */
function inheritFacts(from: Value, to: Value): void {
  for (const [k, v] of Object.entries(from.meta)) if (!(k in to.meta)) to.meta[k] = v;
  if (from.quant && !to.quant) to.quant = from.quant;
}

function fold(graph: Graph, bn: Node, p: Plan, scope: GraphScope): string | undefined {
  const s = bnMultiplier(p.params);
  if (!(s instanceof Float64Array)) return `variance + epsilon is not positive on channel ${s.badChannel}`;
  const { producer } = p;
  const dtype = p.weight.dtype;
  const newWeight = graph.addInitializer(graph.uniqueName(`${producer.name}.weight_bn`), scaleWeight(p.weight, p.layout, p.group, s));
  const newBias = graph.addInitializer(graph.uniqueName(`${producer.name}.bias_bn`), storeFloat(dtype, [s.length], foldedBias(p.bias, p.params, s)));
  const oldInputs = [producer.inputs[1], producer.inputs[2] ?? null, ...bn.inputs.slice(1)];
  producer.replaceInput(1, newWeight);
  if (producer.inputs.length > 2) producer.replaceInput(2, newBias);
  else producer.appendInput(newBias);
  if (producer.opType === 'Gemm') producer.setAttr('beta', attr.float(1));

  // With a bias Add in between, the affine op's own output replaces the BN output and the Add goes too.
  const out = producer.outputs[0];
  const y = bn.outputs[0];
  inheritFacts(y, out);
  y.replaceAllUsesWith(out);
  graph.removeNode(bn);
  if (p.add) {
    oldInputs.push(p.add.constant);
    graph.removeNode(p.add.node);
  }
  for (const v of oldInputs) removeUnusedConstantChain(graph, v, scope);
  return undefined;
}

/**
 * fold-bn: BatchNormalization (inference form) folded into the Conv,
 * ConvTranspose or Gemm before it, as the method requires before anything
 * else: statistics and ranges are then taken on the conv output with BN
 * already applied. A constant per-channel Add between the op and the BN (a
 * bias written as its own node) is folded along. Folds only when the op's
 * output feeds the BN alone and every parameter is constant; new weight and
 * bias initializers replace the old ones (tensors are never written in
 * place, they may be shared), and constants left unused are removed. The folded op's output keeps its own
 * name (it takes the BN output's name only where that is a graph output).
 * A BN that cannot fold stays and is reported with the reason.
 */
export const foldBnPass = definePass({
  name: 'fold-bn',
  summary: 'fold BatchNormalization into the preceding Conv, ConvTranspose or Gemm',
  description: [
    'W\' = W * gamma / sqrt(var + eps) per output channel, b\' = (b - mean) * gamma / sqrt(var + eps) + beta,',
    'computed in float64 and stored in the weight type. A constant per-channel Add between the op',
    'and the BN (a separately written bias) is folded along. Folds only where the op output feeds',
    'the BN alone and all parameters are constant (also through Identity, Reshape, Unsqueeze, ... of',
    'constants); any other BN stays and its reason is reported',
    '(report keys: folded, standalone, standalone-reason).',
  ].join('\n'),
  preserves: [],
  run(graph, ctx) {
    const scope = graphScope(graph, ctx);
    let folded = 0;
    const stays: string[] = [];
    for (const bn of [...graph.nodes]) {
      if (bn.opType !== 'BatchNormalization' || !isOnnxDomain(bn)) continue;
      const p = plan(bn, scope);
      const why = typeof p === 'string' ? p : fold(graph, bn, p, scope);
      if (why === undefined) {
        folded++;
        continue;
      }
      stays.push(bn.name);
      ctx.logger.info(`BatchNormalization '${bn.name}' stays: ${why}`);
      ctx.report.record('standalone-reason', why, bn.name);
    }
    ctx.report.record('folded', folded);
    ctx.report.record('standalone', stays.length);
    return { graph, modified: folded > 0 };
  },
});
