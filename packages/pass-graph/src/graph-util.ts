import { constantNodeTensor, type Graph, type Node, type Tensor, type Value } from '@nibble/ir';
import { SOURCE_MODEL, type PassContext } from '@nibble/core';

/*
 * What the graph passes of this package share: which values are constants,
 * which names nested subgraphs read from the enclosing graph (those edges are
 * not in any use list), and how to drop constants a rewrite left unused.
 */

/** True for the default ONNX domain, however the file spelled it. */
export function isOnnxDomain(node: Node): boolean {
  return node.domain === '' || node.domain === 'ai.onnx';
}

/**
 * What the passes need to know about the model beyond the graph: which
 * names nested subgraphs read (see outerScopeNames) and whether
 * initializers the file also lists as graph inputs may be overridden by the
 * caller. ONNX IR 4 made them overridable defaults; before it every
 * initializer was listed as an input and runtimes treat them as constants.
 * Without the source model the IR version is unknown and such initializers
 * count as overridable, which never folds a weight the caller may replace.
 */
export interface GraphScope {
  readonly outer: ReadonlySet<string>;
  readonly listedInitializersOverridable: boolean;
}

export function graphScope(graph: Graph, ctx: PassContext): GraphScope {
  const ir = ctx.services.tryGet(SOURCE_MODEL)?.irVersion;
  return { outer: outerScopeNames(graph), listedInitializersOverridable: ir === undefined || ir >= 4 };
}

/** An initializer the caller may replace at run time: part of the model's interface, never folded nor removed. */
export function isOverridable(v: Value, scope: GraphScope): boolean {
  if (!v.isInitializer) return false;
  return v.isGraphInput || (v.meta.initializerIsInput === true && scope.listedInitializersOverridable);
}

/** The fixed contents of a value: a (non-overridable) initializer, or the output of a Constant node. */
export function constantOf(v: Value | null | undefined, scope: GraphScope): Tensor | undefined {
  if (!v) return undefined;
  if (v.const) return isOverridable(v, scope) ? undefined : v.const;
  const p = v.producer;
  // constantNodeTensor answers only for Constant nodes of the default domain.
  return p && p.outputs[0] === v ? constantNodeTensor(p) : undefined;
}

/** Opset of the default domain of the model being transformed (21 when the caller gave no model). */
export function defaultOpset(ctx: PassContext): number {
  return ctx.services.tryGet(SOURCE_MODEL)?.opsetImports.get('') ?? 21;
}

function subgraphsOf(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of node.attributes.values()) {
    if (a.type === 'graph') out.push(a.value);
    else if (a.type === 'graphs') out.push(...a.value);
  }
  return out;
}

export function hasSubgraphs(node: Node): boolean {
  return subgraphsOf(node).length > 0;
}

/**
 * Names that subgraphs (If/Loop/Scan bodies, at any depth) read from an
 * enclosing scope. The importer gives such reads a local stand-in marked
 * `meta.outerScope`, so the outer value has no use recording them: a pass
 * must neither remove nor rename a value whose name is in this set.
 */
export function outerScopeNames(graph: Graph): Set<string> {
  const names = new Set<string>();
  const visit = (g: Graph): void => {
    for (const node of g.nodes) {
      for (const sub of subgraphsOf(node)) {
        for (const v of sub.values()) if (v.meta.outerScope === true) names.add(v.name);
        visit(sub);
      }
    }
  };
  visit(graph);
  return names;
}

/** Whether anything reads `v`: a node, the graph's outputs, or a subgraph by name. */
export function isUsed(v: Value, scope: GraphScope): boolean {
  return v.uses.length > 0 || v.isGraphOutput || scope.outer.has(v.name);
}

/**
 * Remove the constant behind `v` when a rewrite left it unused: an
 * initializer (not an overridable one, which is interface), or a Constant node. Returns whether something was removed.
 */
export function removeIfUnusedConstant(graph: Graph, v: Value | null, scope: GraphScope): boolean {
  if (!v || isUsed(v, scope)) return false;
  if (v.isInitializer) {
    if (isOverridable(v, scope) || !graph.initializers.includes(v)) return false;
    graph.removeInitializer(v);
    return true;
  }
  const p = v.producer;
  if (p && p.opType === 'Constant' && isOnnxDomain(p) && p.outputs.every((o) => !isUsed(o, scope))) {
    graph.removeNode(p);
    return true;
  }
  return false;
}
