import { NibbleError } from '@nibble/ir';
import type { GraphMsg, NodeMsg } from './proto-decode';

/**
 * Names a graph reads from enclosing scopes: read by its nodes (or the
 * nodes of its own subgraphs) and defined by none of its inputs,
 * initializers or node outputs. A node that owns such a subgraph depends on
 * the producers of these names just as on its explicit inputs.
 */
export function freeNames(g: GraphMsg, memo = new Map<GraphMsg, Set<string>>()): Set<string> {
  const known = memo.get(g);
  if (known) return known;
  const defined = new Set<string>();
  for (const t of g.initializer) defined.add(t.name);
  for (const v of g.input) defined.add(v.name);
  for (const n of g.node) for (const o of n.output) if (o) defined.add(o);
  const free = new Set<string>();
  for (const n of g.node) {
    for (const i of n.input) if (i && !defined.has(i)) free.add(i);
    for (const s of subgraphsOf(n)) for (const name of freeNames(s, memo)) if (!defined.has(name)) free.add(name);
  }
  for (const v of g.output) if (v.name && !defined.has(v.name)) free.add(v.name);
  memo.set(g, free);
  return free;
}

export function subgraphsOf(n: NodeMsg): GraphMsg[] {
  const out: GraphMsg[] = [];
  for (const a of n.attribute) {
    if (a.g) out.push(a.g);
    out.push(...a.graphs);
  }
  return out;
}

export interface OrderContext {
  /** Names the graph itself defines before any node runs: its inputs and initializers. */
  local: ReadonlySet<string>;
  /** Whether an enclosing graph defines a name (subgraphs may read those). */
  outer: (name: string) => boolean;
  graphLabel: string;
  memo: Map<GraphMsg, Set<string>>;
}

/**
 * The graph's nodes in an order where every node follows the producers of
 * what it reads (file order when the file is already sorted, as ONNX
 * requires; some exporters are not that careful). A read of a name nothing
 * defines is E_UNDEFINED_VALUE, a dependency cycle E_CYCLE, each naming the node.
 */
export function orderNodes(g: GraphMsg, ctx: OrderContext): NodeMsg[] {
  const producer = new Map<string, number>();
  g.node.forEach((n, i) => {
    for (const o of n.output) {
      if (!o) continue;
      if (producer.has(o) || ctx.local.has(o)) {
        throw new NibbleError('E_INVALID_GRAPH', `${ctx.graphLabel}: value '${o}' is defined twice (again by node '${n.name}' (${n.opType}))`, {
          node: n.name || undefined,
          op: n.opType,
          value: o,
          hint: 'every value must be produced once; the file is malformed',
        });
      }
      producer.set(o, i);
    }
  });
  const deps = g.node.map((n) => {
    const reads = [...n.input.filter((x) => x !== '')];
    for (const s of subgraphsOf(n)) reads.push(...freeNames(s, ctx.memo));
    const out: number[] = [];
    for (const name of reads) {
      const p = producer.get(name);
      if (p !== undefined) out.push(p);
      else if (!ctx.local.has(name) && !ctx.outer(name)) {
        throw new NibbleError('E_UNDEFINED_VALUE', `${ctx.graphLabel}: node '${n.name}' (${n.opType}) reads '${name}', which no graph input, initializer or node defines`, {
          node: n.name || undefined,
          op: n.opType,
          value: name,
          hint: 'the file is malformed: a value is used but never produced',
        });
      }
    }
    return out;
  });

  const state = new Uint8Array(g.node.length); // 0 unvisited, 1 on the stack, 2 done
  const order: NodeMsg[] = [];
  for (let start = 0; start < g.node.length; start++) {
    if (state[start]) continue;
    // Iterative DFS: real models are deep enough to overflow a recursive one.
    const stack: { i: number; next: number }[] = [{ i: start, next: 0 }];
    state[start] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.next < deps[top.i].length) {
        const d = deps[top.i][top.next++];
        if (state[d] === 1) {
          const n = g.node[d];
          throw new NibbleError('E_CYCLE', `${ctx.graphLabel}: nodes form a cycle through node '${n.name}' (${n.opType})`, {
            node: n.name || undefined,
            op: n.opType,
            hint: 'a node reads, directly or indirectly, its own output; the file is malformed',
          });
        }
        if (state[d] === 0) {
          state[d] = 1;
          stack.push({ i: d, next: 0 });
        }
      } else {
        state[top.i] = 2;
        order.push(g.node[top.i]);
        stack.pop();
      }
    }
  }
  return order;
}
