import { type Graph, type Node, ONE_SIDED_KEY, UPPER_BOUND_KEY, type Value } from '@nibble/ir';
import { definePass } from '@nibble/core';
import { constantOf, type GraphScope, graphScope, isOnnxDomain } from './graph-util';

/** A Clip bound: the attribute before opset 11, the constant input since (1: min, 2: max); undefined when absent or not constant. */
function clipBound(node: Node, scope: GraphScope, which: 'min' | 'max'): number | undefined {
  const a = node.attributes.get(which);
  if (a) return a.type === 'float' ? a.value : undefined;
  const t = constantOf(node.inputs[which === 'min' ? 1 : 2], scope);
  return t && t.size === 1 && t.dtype !== 'string' ? t.toFloat64()[0] : undefined;
}

/**
 * A consumer that throws away every negative value it reads: Relu, or Clip
 * with a lower bound >= 0 (Relu6 = Clip(0, 6) included; a bound above 0
 * discards negatives all the same, any upper bound). LeakyRelu, PRelu and
 * friends keep a scaled negative part and do not count.
 */
export function discardsNegatives(node: Node, scope: GraphScope): boolean {
  if (!isOnnxDomain(node)) return false;
  if (node.opType === 'Relu') return true;
  if (node.opType !== 'Clip') return false;
  const min = clipBound(node, scope, 'min');
  return min !== undefined && min >= 0;
}

/**
 * Whether `v` is one-sided: read by at least one node, every reader is
 * Relu/Clip(min >= 0) through its data input, and nothing else sees it. A
 * graph output is not: the caller receives the signed values. Constants
 * are weights, not activations, and are never marked.
 */
export function isOneSided(v: Value, scope: GraphScope): boolean {
  if (v.isInitializer || v.isGraphOutput || v.uses.length === 0) return false;
  if (v.producer?.opType === 'Constant') return false;
  return v.uses.every((u) => u.index === 0 && discardsNegatives(u.node, scope));
}

/**
 * The largest upper bound among the readers of a one-sided `v` when every
 * reader is a Clip with a constant, finite one (ReLU6: 6); undefined when a
 * reader keeps everything above (Relu, Clip without a max). Values above it
 * reach no reader, so a range need not cover them.
 */
export function upperBoundOf(v: Value, scope: GraphScope): number | undefined {
  let bound = -Infinity;
  for (const u of v.uses) {
    const max = u.node.opType === 'Clip' ? clipBound(u.node, scope, 'max') : undefined;
    if (max === undefined || !Number.isFinite(max)) return undefined;
    bound = Math.max(bound, max);
  }
  // A max below the min (0 here) is a degenerate Clip: left alone.
  return bound >= 0 ? bound : undefined;
}

function candidates(graph: Graph): Value[] {
  return [...graph.inputs, ...graph.nodes.flatMap((n) => n.outputs)];
}

/**
 * mark-fused-relu: sets `meta.oneSided = true` on tensors whose negative
 * part no consumer can see (the "fused ReLU" conv outputs of the method),
 * so clipping uses an unsigned range [0, hi] and the M+1-bit ACIQ row, and
 * `meta.upperBound` where every consumer is a Clip with a constant max
 * (ReLU6), so the range ends there (@nibble/ir quant-point.ts states the
 * contract). The pass recomputes the marks for every value: a stale mark
 * from an earlier run on a graph edited since is removed. Annotation only,
 * so every analysis stays valid.
 */
export const markFusedReluPass = definePass({
  name: 'mark-fused-relu',
  summary: 'mark tensors read only by Relu or Clip(min >= 0) as one-sided (unsigned quantization range), with Clip\'s max as upper bound',
  description: [
    'A value is one-sided when every reader is Relu or Clip with a constant lower bound >= 0',
    '(Relu6 = Clip(0, 6) included; bounds as attributes or inputs), so no reader sees its negative',
    'part: quantization gives it an unsigned range. Graph outputs are never one-sided (the caller',
    'receives the signed values). When every reader is a Clip with a constant max, the largest',
    'max is recorded as the value\'s upper bound (ReLU6: 6): clipping ends its range there.',
    'Marks are recomputed, stale ones removed.',
  ].join('\n'),
  preserves: 'all',
  run(graph, ctx) {
    const scope = graphScope(graph, ctx);
    let marked = 0;
    let bounded = 0;
    let changed = 0;
    for (const v of candidates(graph)) {
      const want = isOneSided(v, scope);
      const bound = want ? upperBoundOf(v, scope) : undefined;
      if (want) marked++;
      if (bound !== undefined) bounded++;
      if (want !== (v.meta[ONE_SIDED_KEY] === true) || bound !== v.meta[UPPER_BOUND_KEY]) changed++;
      if (want) v.meta[ONE_SIDED_KEY] = true;
      else delete v.meta[ONE_SIDED_KEY];
      if (bound !== undefined) v.meta[UPPER_BOUND_KEY] = bound;
      else delete v.meta[UPPER_BOUND_KEY];
    }
    ctx.report.record('one-sided', marked);
    ctx.report.record('upper-bounded', bounded);
    return { graph, modified: changed > 0 };
  },
});
