import type { Graph, Node, Value } from '@nibble/ir';
import { definePass } from '@nibble/core';
import { constantOf, type GraphScope, graphScope, isOnnxDomain } from './graph-util';

/** Clip's lower bound: the `min` attribute before opset 11, the constant input 1 since; undefined when absent or not constant. */
function clipMin(node: Node, scope: GraphScope): number | undefined {
  const a = node.attributes.get('min');
  if (a) return a.type === 'float' ? a.value : undefined;
  const t = constantOf(node.inputs[1], scope);
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
  const min = clipMin(node, scope);
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

function candidates(graph: Graph): Value[] {
  return [...graph.inputs, ...graph.nodes.flatMap((n) => n.outputs)];
}

/**
 * mark-fused-relu: sets `meta.oneSided = true` on tensors whose negative
 * part no consumer can see (the "fused ReLU" conv outputs of the method),
 * so clipping uses an unsigned range [0, hi] and the M+1-bit ACIQ row. The
 * pass recomputes the mark for every value: a stale mark from an earlier
 * run on a graph edited since is removed. Annotation only, so every
 * analysis stays valid.
 */
export const markFusedReluPass = definePass({
  name: 'mark-fused-relu',
  summary: 'mark tensors read only by Relu or Clip(min >= 0) as one-sided (unsigned quantization range)',
  description: [
    'A value is one-sided when every reader is Relu or Clip with a constant lower bound >= 0',
    '(Relu6 = Clip(0, 6) included; bounds as attributes or inputs), so no reader sees its negative',
    'part: quantization gives it an unsigned range. Graph outputs are never one-sided (the caller',
    'receives the signed values). Marks are recomputed, stale ones removed.',
  ].join('\n'),
  preserves: 'all',
  run(graph, ctx) {
    const scope = graphScope(graph, ctx);
    let marked = 0;
    let changed = 0;
    for (const v of candidates(graph)) {
      const want = isOneSided(v, scope);
      const had = v.meta.oneSided === true;
      if (want) marked++;
      if (want === had) continue;
      changed++;
      if (want) v.meta.oneSided = true;
      else delete v.meta.oneSided;
    }
    ctx.report.record('one-sided', marked);
    return { graph, modified: changed > 0 };
  },
});
