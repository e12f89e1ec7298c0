import { type Graph, inferNodeTypes, isNibbleError, type KnownValue, type Node, Tensor, type Value } from '@nibble/ir';
import { definePass, type PassContext } from '@nibble/core';
import { CannotFold, CONSTANT_EVALUATORS, generatedElements, SHAPE_EVALUATORS } from './constant-eval';
import { constantOf, defaultOpset, type GraphScope, graphScope, hasSubgraphs, isOnnxDomain, isUsed, removeIfUnusedConstant } from './graph-util';
import { fixesBatch, isStaticIntegerData, shapeView } from './shape-view';

const typeKey = (v: Value): string => JSON.stringify(v.type ?? null);

const staticShape = (v: Value | null): number[] | undefined => {
  const s = v?.type?.shape;
  return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
};

interface Counts {
  folded: number;
  byOp: Map<string, number>;
  tooLarge: number;
  unsupported: number;
  batchDependent: number;
}

interface Sweep {
  scope: GraphScope;
  maxElements: number;
  /** Shape data by value name (see shape-view.ts). */
  view: Map<string, KnownValue>;
  /** The view frees a batch size fixed by a graph input (keep-batch): static shapes alone do not fold. */
  batchRelaxed: boolean;
  counts: Counts;
  ctx: PassContext;
}

/** Outputs the evaluator computes from constant inputs; undefined when an input is not constant or the op is not covered. */
function evaluateConstant(node: Node, inputs: readonly (Tensor | null | undefined)[], sweep: Sweep): Tensor[] | undefined {
  const { counts, ctx, maxElements } = sweep;
  const evaluator = CONSTANT_EVALUATORS[node.opType];
  if (!evaluator || inputs.some((t) => t === undefined)) return undefined;
  const given = inputs as (Tensor | null)[];
  try {
    const created = generatedElements(node, given);
    const read = given.reduce((n, t) => n + (t?.size ?? 0), 0);
    if (created !== undefined && created > maxElements && created > read) {
      counts.tooLarge++;
      ctx.logger.debug(`${node.opType} '${node.name}' stays: it would create ${created} elements (max-elements ${maxElements})`);
      return undefined;
    }
    return evaluator(node, given);
  } catch (e) {
    if (!(e instanceof CannotFold)) throw e;
    counts.unsupported++;
    ctx.logger.debug(`not folded: ${e.message}`);
    return undefined;
  }
}

/** The node's outputs as tensors (undefined for outputs nobody reads), or undefined when it does not fold. */
function evaluate(node: Node, sweep: Sweep): (Tensor | undefined)[] | undefined {
  const inputs = node.inputs.map((v) => (v ? constantOf(v, sweep.scope) ?? undefined : null));
  const computed = evaluateConstant(node, inputs, sweep);
  if (computed) return computed;
  // Shape data inference found static, though not every input is constant (e.g. one axis of a partly dynamic shape).
  const used = node.outputs.filter((v) => isUsed(v, sweep.scope));
  if (used.every((v) => isStaticIntegerData(sweep.view.get(v.name)))) {
    return node.outputs.map((v) => {
      const k = sweep.view.get(v.name);
      return isUsed(v, sweep.scope) && isStaticIntegerData(k) ? Tensor.from(k.dtype, k.shape, k.data) : undefined;
    });
  }
  const shapeEval = SHAPE_EVALUATORS[node.opType];
  const shape = staticShape(node.inputs[0] ?? null);
  if (!shapeEval || inputs[0] !== undefined || !shape) return undefined;
  if (!sweep.batchRelaxed) return shapeEval(node, shape);
  sweep.counts.batchDependent++;
  sweep.ctx.logger.debug(`${node.opType} '${node.name}' stays: its result holds the batch size a graph input fixes (keep-batch)`);
  return undefined;
}

/**
 * Replace the node by initializers holding its outputs, each under the
 * output's name (so names a subgraph or a user refers to stay valid).
 */
function replaceByInitializers(graph: Graph, node: Node, tensors: readonly (Tensor | undefined)[], scope: GraphScope): void {
  const renames: [Value, string][] = [];
  node.outputs.forEach((v, i) => {
    if (!isUsed(v, scope)) return;
    const init = graph.addInitializer(graph.uniqueName(`${v.name}__folded`), tensors[i]!);
    init.docString = v.docString;
    v.replaceAllUsesWith(init);
    renames.push([init, v.name]);
  });
  graph.removeNode(node);
  for (const [init, name] of renames) init.rename(name);
}

/**
 * Remove what the folds left unread: constants, and nodes (a Shape whose
 * consumers folded) with everything upstream that only they read. Nodes
 * dead before the pass are left to eliminate-dead-code.
 */
function removeMadeDead(graph: Graph, leftovers: (Value | null)[], scope: GraphScope): number {
  let removed = 0;
  const work = [...leftovers];
  while (work.length) {
    const v = work.pop()!;
    if (!v || isUsed(v, scope)) continue;
    const p = v.producer;
    if (p && p.graph === graph && isOnnxDomain(p) && !hasSubgraphs(p) && p.outputs.every((o) => !isUsed(o, scope))) {
      work.push(...p.inputs);
      graph.removeNode(p);
      removed++;
    } else if (removeIfUnusedConstant(graph, v, scope)) {
      removed++;
    }
  }
  return removed;
}

function foldable(node: Node, scope: GraphScope): boolean {
  if (!isOnnxDomain(node) || hasSubgraphs(node)) return false;
  // A dead node is eliminate-dead-code's business; a graph output stays computed so the model's interface keeps its producers.
  return node.outputs.some((v) => isUsed(v, scope)) && !node.outputs.some((v) => v.isGraphOutput);
}

/**
 * fold-constants: evaluates nodes whose inputs are all constant
 * (initializers or Constant nodes; an overridable initializer, see
 * GraphScope, is not constant) and replaces them by initializers,
 * Constant nodes included. Shape and Size also fold on any value whose shape
 * is static, which lets the Shape -> Gather -> Unsqueeze -> Concat ->
 * Reshape chains of exported models collapse into a constant shape. Types
 * are inferred node by node on the way (infer-shapes), so shapes that become
 * static after an upstream fold are seen in the same sweep. Shape data the
 * op registry's inference knows statically also folds where the shape is
 * only partly static (a Gather of a static axis). With keep-batch (default)
 * nothing folds that would hold the batch size a graph input fixes (see
 * shape-view.ts). Results are
 * bit-exact to ONNX arithmetic in the tensors' own types (see
 * constant-eval/). Nodes the evaluator does not cover stay; so do
 * generators (ConstantOfShape, Range, Expand) that would create more than
 * max-elements elements beyond what they read. Constants and nodes a fold
 * leaves unread are removed.
 */
export const foldConstantsPass = definePass({
  name: 'fold-constants',
  summary: 'evaluate nodes whose inputs are all constant and replace them by initializers',
  description: [
    'Evaluates Constant, Identity, Cast, Shape, Size, Gather, Squeeze, Unsqueeze, Concat, Reshape,',
    'Flatten, Transpose, Slice, Expand, Add, Sub, Mul, Div, Range, ConstantOfShape and',
    'DequantizeLinear, bit-exact in the tensor types. Shape and Size fold on any value whose shape',
    'is static (with infer-shapes, types are inferred on the way), so the Shape -> Gather ->',
    'Unsqueeze -> Concat -> Reshape chains of exported models become constant shapes; with',
    'keep-batch, not where the result would bake in a batch size a graph input fixes. Graph',
    'outputs and dead nodes are left alone (see eliminate-dead-code).',
  ].join('\n'),
  options: {
    maxElements: {
      type: 'integer',
      default: 1 << 20,
      min: 0,
      description: 'largest tensor a generator (ConstantOfShape, Range, Expand) may create beyond the elements it reads',
    },
    inferShapes: {
      type: 'boolean',
      default: true,
      description: 'infer value types node by node so that Shape and Size of computed values fold',
    },
    keepBatch: {
      type: 'boolean',
      default: true,
      description: 'fold no Shape/Size whose result depends on a batch size fixed by a graph input (the runtime relaxes it to run batches)',
    },
  },
  preserves: [],
  run(graph, ctx, opts) {
    const opset = defaultOpset(ctx);
    const scope = graphScope(graph, ctx);
    const counts: Counts = { folded: 0, byOp: new Map(), tooLarge: 0, unsupported: 0, batchDependent: 0 };
    const batchRelaxed = opts.keepBatch && fixesBatch(graph);
    const view = shapeView(graph, scope, opset, batchRelaxed);
    const sweep: Sweep = { scope, maxElements: opts.maxElements, view, batchRelaxed, counts, ctx };
    const leftovers: (Value | null)[] = [];
    let typesChanged = false;
    for (const node of [...graph.nodes]) {
      const tensors = foldable(node, scope) ? evaluate(node, sweep) : undefined;
      if (tensors && node.outputs.every((v, i) => tensors[i] !== undefined || !isUsed(v, scope))) {
        leftovers.push(...node.inputs);
        replaceByInitializers(graph, node, tensors, scope);
        counts.folded++;
        counts.byOp.set(node.opType, (counts.byOp.get(node.opType) ?? 0) + 1);
        continue;
      }
      if (!opts.inferShapes) continue;
      const before = node.outputs.map(typeKey).join();
      try {
        inferNodeTypes(node, { opset });
      } catch (e) {
        // Inference only helps find foldable shapes; a node it cannot type is left as it was.
        if (!isNibbleError(e)) throw e;
        ctx.logger.warn(`no type for the outputs of ${node.opType} '${node.name}': ${e.message}`);
      }
      if (node.outputs.map(typeKey).join() !== before) typesChanged = true;
    }
    const removed = removeMadeDead(graph, leftovers, scope);
    ctx.report.record('folded', counts.folded);
    ctx.report.record('folded-by-op', Object.fromEntries([...counts.byOp].sort(([a], [b]) => (a < b ? -1 : 1))));
    if (counts.tooLarge) ctx.report.record('too-large', counts.tooLarge);
    if (counts.unsupported) ctx.report.record('not-evaluated', counts.unsupported);
    if (counts.batchDependent) ctx.report.record('batch-dependent', counts.batchDependent);
    return { graph, modified: counts.folded > 0 || removed > 0 || typesChanged };
  },
});
