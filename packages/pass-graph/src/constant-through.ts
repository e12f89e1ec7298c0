import type { Graph, Tensor, Value } from '@nibble/ir';
import { CannotFold, CONSTANT_EVALUATORS } from './constant-eval';
import { constantOf, type GraphScope, hasSubgraphs, isOnnxDomain, isUsed, removeIfUnusedConstant } from './graph-util';

/*
 * Exporters spell a constant in many ways: torch.onnx.export writes a
 * BatchNormalization parameter that it deduplicated as Identity(initializer),
 * others Unsqueeze or Reshape a constant, or write a Constant node. A
 * rewrite that asks only "is this an initializer?" then depends on whether
 * fold-constants happened to run before it. Looking through what
 * fold-constants would fold makes each canonical pass see the same graph
 * whatever the order, so one run of the canonical passes is a fixed point.
 */

/** How many producers deep a constant is followed (exporters write one or two). */
const MAX_DEPTH = 8;

/**
 * The contents of `v` when it is computed from constants alone by ops that
 * fold-constants evaluates (Identity, Reshape, Unsqueeze, Cast, ...), else
 * undefined. Overridable initializers are not constants (constantOf).
 */
export function constantThrough(v: Value | null | undefined, scope: GraphScope, depth = MAX_DEPTH): Tensor | undefined {
  if (!v) return undefined;
  const direct = constantOf(v, scope);
  if (direct || depth === 0) return direct;
  const node = v.producer;
  if (!node || !isOnnxDomain(node) || hasSubgraphs(node)) return undefined;
  const evaluator = CONSTANT_EVALUATORS[node.opType];
  const index = node.outputs.indexOf(v);
  if (!evaluator || index < 0) return undefined;
  const inputs: (Tensor | null)[] = [];
  for (const input of node.inputs) {
    if (!input) {
      inputs.push(null);
      continue;
    }
    const t = constantThrough(input, scope, depth - 1);
    if (!t) return undefined;
    inputs.push(t);
  }
  try {
    return evaluator(node, inputs)[index];
  } catch (e) {
    if (e instanceof CannotFold) return undefined;
    throw e;
  }
}

/**
 * Remove what computed a constant that a rewrite left unused: the
 * initializer or Constant node, or the chain of foldable nodes behind it
 * (each removed only once nothing else reads any of its outputs).
 */
export function removeUnusedConstantChain(graph: Graph, v: Value | null, scope: GraphScope, depth = MAX_DEPTH): void {
  if (!v || isUsed(v, scope)) return;
  if (removeIfUnusedConstant(graph, v, scope) || depth === 0) return;
  const node = v.producer;
  if (!node || !isOnnxDomain(node) || !CONSTANT_EVALUATORS[node.opType] || hasSubgraphs(node)) return;
  if (node.outputs.some((o) => isUsed(o, scope))) return;
  const inputs = [...node.inputs];
  graph.removeNode(node);
  for (const input of inputs) removeUnusedConstantChain(graph, input, scope, depth - 1);
}
