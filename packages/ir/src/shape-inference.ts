import { NibbleError, isNibbleError } from './errors';
import type { Dim, Graph, Node, Value, ValueType } from './graph';
import { createInferContext } from './ops/context';
import { type InferContext, type KnownValue, getOpSchema } from './ops/registry';
import './ops/all';

/*
 * Static type and shape inference over a graph in node order. Each op's
 * schema computes its output types from its input types, constant inputs and
 * attributes; shape computations left in exported graphs (Shape -> Slice ->
 * Concat -> Reshape) are followed by propagating small known values, symbolic
 * dims included. What cannot be known stays unknown; facts that contradict
 * each other throw E_SHAPE naming the node.
 */

export interface InferShapesOptions {
  /** Opset of the default domain (the model's opset import); semantics changed across opsets. Default 21. */
  opset?: number;
  /** Replace types already on node outputs instead of merging with them. */
  overwrite?: boolean;
}

export interface InferShapesReport {
  /** Node outputs with a known dtype after inference. */
  typed: number;
  /** Node outputs whose every dim is a number. */
  static: number;
  /** Node outputs in all. */
  outputs: number;
  /** Op types (domain-qualified) without inference, sorted; their outputs keep what they had. */
  opsWithoutInference: string[];
}

function mergeDim(node: Node, v: Value, i: number, old: Dim, inferred: Dim): Dim {
  if (typeof old === 'number' && typeof inferred === 'number' && old !== inferred) {
    throw new NibbleError('E_SHAPE', `node '${node.name}' (${node.opType}): output '${v.name}' is declared with extent ${old} on axis ${i} but inference gives ${inferred}`, {
      node: node.name,
      op: node.opType,
      value: v.name,
      hint: 'the value_info of the model disagrees with its operators; drop the stale declaration or infer with overwrite',
    });
  }
  if (typeof inferred === 'number') return inferred;
  if (typeof old === 'number') return old;
  return old ?? inferred;
}

/** Combine a declared type with an inferred one, keeping the more precise fact per dim. */
function mergeType(node: Node, v: Value, inferred: ValueType, overwrite: boolean): ValueType {
  const old = v.type;
  if (!old || overwrite) return { dtype: inferred.dtype, ...(inferred.shape ? { shape: [...inferred.shape] } : {}) };
  const place = { node: node.name, op: node.opType, value: v.name };
  if (old.dtype !== inferred.dtype) {
    throw new NibbleError('E_SHAPE', `node '${node.name}' (${node.opType}): output '${v.name}' is declared ${old.dtype} but inference gives ${inferred.dtype}`, place);
  }
  if (!old.shape || !inferred.shape) return { dtype: old.dtype, ...(old.shape ?? inferred.shape ? { shape: [...(old.shape ?? inferred.shape)!] } : {}) };
  if (old.shape.length !== inferred.shape.length) {
    throw new NibbleError('E_SHAPE', `node '${node.name}' (${node.opType}): output '${v.name}' is declared with rank ${old.shape.length} but inference gives rank ${inferred.shape.length}`, place);
  }
  return { dtype: old.dtype, shape: old.shape.map((d, i) => mergeDim(node, v, i, d, inferred.shape![i])) };
}

function runNode(node: Node, ctx: InferContext, overwrite: boolean, propagated?: Map<Value, KnownValue>): boolean {
  const schema = getOpSchema(node.opType, node.domain);
  if (!schema?.inferTypes) return false;
  try {
    const types = schema.inferTypes(node, ctx);
    node.outputs.forEach((v, i) => {
      const t = types[i];
      if (t) v.type = mergeType(node, v, t, overwrite);
    });
    if (propagated && schema.inferValues) {
      schema.inferValues(node, ctx).forEach((k, i) => {
        if (k && i < node.outputs.length) propagated.set(node.outputs[i], k);
      });
    }
  } catch (e) {
    if (isNibbleError(e)) throw e;
    throw new NibbleError('E_INTERNAL', `shape inference of node '${node.name}' (${node.opType}) failed: ${(e as Error).message}`, {
      node: node.name,
      op: node.opType,
      cause: e,
    });
  }
  return true;
}

/** Fill in `value.type` of node outputs wherever it follows from the inputs. Returns what it found. */
export function inferShapes(graph: Graph, options: number | InferShapesOptions = {}): InferShapesReport {
  const opts = typeof options === 'number' ? { opset: options } : options;
  const propagated = new Map<Value, KnownValue>();
  const ctx = createInferContext(opts.opset ?? 21, propagated);
  const without = new Set<string>();
  const report: InferShapesReport = { typed: 0, static: 0, outputs: 0, opsWithoutInference: [] };
  for (const node of graph.nodes) {
    if (!runNode(node, ctx, opts.overwrite ?? false, propagated)) without.add(node.domain ? `${node.domain}.${node.opType}` : node.opType);
    for (const v of node.outputs) {
      report.outputs++;
      if (v.type) report.typed++;
      if (v.type?.shape?.every((d) => typeof d === 'number')) report.static++;
    }
  }
  report.opsWithoutInference = [...without].sort();
  return report;
}

/** Infer the output types of one node (e.g. one a pass just created), reading constants from the graph. */
export function inferNodeTypes(node: Node, options: number | InferShapesOptions = {}): void {
  const opts = typeof options === 'number' ? { opset: options } : options;
  runNode(node, createInferContext(opts.opset ?? 21), opts.overwrite ?? false);
}
