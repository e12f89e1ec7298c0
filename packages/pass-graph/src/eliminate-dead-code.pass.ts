import type { Graph, Node } from '@nibble/ir';
import { definePass } from '@nibble/core';
import { graphScope, isOverridable } from './graph-util';

/**
 * Nodes from which a graph output (or a value a subgraph reads by name) can
 * be reached, walking producer edges backwards from those roots.
 */
function liveNodes(graph: Graph, outer: ReadonlySet<string>): Set<Node> {
  const live = new Set<Node>();
  const stack: Node[] = [];
  const reach = (n: Node | null): void => {
    if (n && n.graph === graph && !live.has(n)) {
      live.add(n);
      stack.push(n);
    }
  };
  for (const v of graph.outputs) reach(v.producer);
  for (const name of outer) reach(graph.value(name)?.producer ?? null);
  while (stack.length) for (const v of stack.pop()!.inputs) reach(v?.producer ?? null);
  return live;
}

/**
 * eliminate-dead-code: removes nodes none of whose outputs reaches a graph
 * output, then initializers nothing reads. Kept: graph inputs (the model's
 * interface, even when unused) and overridable initializers (also
 * interface, see GraphScope); values that nested subgraphs read
 * by name count as used. Subgraph bodies themselves are not rewritten.
 * Identity and Dropout are left alone: removing them rewires edges, which is
 * remove-identity's job; here a node goes only when nothing needs it.
 */
export const eliminateDeadCodePass = definePass({
  name: 'eliminate-dead-code',
  summary: 'remove nodes that reach no graph output and initializers nothing reads',
  description: [
    'Graph inputs and overridable initializers (part of the interface) stay, and so does anything a',
    'nested subgraph reads by name. Identity and Dropout are not removed here: see remove-identity.',
  ].join('\n'),
  preserves: [],
  run(graph, ctx) {
    const scope = graphScope(graph, ctx);
    const live = liveNodes(graph, scope.outer);
    // Consumers before producers, so every removed node's outputs are already unused.
    const dead = graph.nodes.filter((n) => !live.has(n)).reverse();
    for (const n of dead) graph.removeNode(n);
    const unused = graph.initializers.filter((v) => v.uses.length === 0 && !v.isGraphOutput && !isOverridable(v, scope) && !scope.outer.has(v.name));
    for (const v of unused) graph.removeInitializer(v);
    ctx.report.record('removed-nodes', dead.length);
    ctx.report.record('removed-initializers', unused.length);
    if (dead.length) ctx.logger.debug(`removed ${dead.length} dead nodes: ${dead.map((n) => n.name).reverse().join(', ')}`);
    return { graph, modified: dead.length + unused.length > 0 };
  },
});
