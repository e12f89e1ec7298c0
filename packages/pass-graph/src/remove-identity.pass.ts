import type { Node, Value } from '@nibble/ir';
import { definePass } from '@nibble/core';
import { constantOf, type GraphScope, graphScope, isOnnxDomain, isUsed } from './graph-util';

/** Why Dropout is not a pass-through here, or undefined when it is (inference: output = input). */
function dropoutBlocker(node: Node, scope: GraphScope): string | undefined {
  if (node.outputs.slice(1).some((v) => isUsed(v, scope))) return 'its mask output is used';
  if (node.getInt('is_test', 1) === 0) return 'is_test=0 (training form)';
  const training = node.inputs[2];
  if (training) {
    const t = constantOf(training, scope);
    if (!t || t.size !== 1 || t.toFloat64()[0] !== 0) return 'training_mode is not a constant false';
  }
  return undefined;
}

/**
 * Whether the node's output can be replaced by its input without changing
 * the model's interface. A graph output keeps its name: the input value is
 * renamed to it, which is possible only when the input is a node output that
 * is not itself a graph output, and no subgraph reads the input by name.
 */
function blocker(node: Node, scope: GraphScope): string | undefined {
  const x = node.inputs[0];
  const y = node.outputs[0];
  if (!x || !y) return 'it has no data input or output';
  if (node.opType === 'Dropout') {
    const why = dropoutBlocker(node, scope);
    if (why) return why;
  }
  if (scope.outer.has(y.name)) return 'a subgraph reads its output by name';
  if (y.isGraphOutput) {
    if (!x.producer || x.isGraphOutput || x.isGraphInput || x.isInitializer) return 'its output is a graph output and its input cannot take that name';
    if (scope.outer.has(x.name)) return 'its input, read by a subgraph by name, cannot be renamed';
  }
  return undefined;
}

function carryFacts(from: Value, to: Value): void {
  for (const [k, v] of Object.entries(from.meta)) if (!(k in to.meta)) to.meta[k] = v;
  if (!to.type && from.type) to.type = from.type;
}

/**
 * remove-identity: bypasses Identity and inference-mode Dropout (a
 * pass-through when training is off and the mask unused), readers taking
 * the input directly. Kept as its own pass rather than inside
 * eliminate-dead-code because it rewires edges and may rename a value to
 * keep a graph output's name; DCE only deletes what nothing needs.
 */
export const removeIdentityPass = definePass({
  name: 'remove-identity',
  summary: 'bypass Identity and inference-mode Dropout nodes',
  description: [
    'Readers of an Identity or of an inference Dropout (training off, mask unused) read its input',
    'instead. Where the output is a graph output its name is kept by renaming the input, so an',
    'Identity between a graph input and a graph output stays.',
  ].join('\n'),
  preserves: [],
  run(graph, ctx) {
    const scope = graphScope(graph, ctx);
    let removed = 0;
    for (const node of [...graph.nodes]) {
      if (!isOnnxDomain(node) || (node.opType !== 'Identity' && node.opType !== 'Dropout')) continue;
      const why = blocker(node, scope);
      if (why) {
        ctx.logger.debug(`${node.opType} '${node.name}' stays: ${why}`);
        continue;
      }
      const x = node.inputs[0]!;
      const y = node.outputs[0];
      carryFacts(y, x);
      y.replaceAllUsesWith(x);
      graph.removeNode(node);
      removed++;
    }
    ctx.report.record('removed', removed);
    return { graph, modified: removed > 0 };
  },
});
