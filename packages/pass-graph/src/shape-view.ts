import { cloneGraph, type Dim, getOpSchema, type Graph, type InferContext, isNibbleError, type KnownValue, type Tensor, type Value } from '@nibble/ir';
import { constantOf, type GraphScope } from './graph-util';

/** The symbol a fixed batch dimension becomes in the relaxed view. */
const BATCH = '__nibble_batch';

/** Constants larger than this are weights, not shape data: the view does not carry their contents. */
const MAX_KNOWN = 4096;

function knownFromTensor(t: Tensor): KnownValue | undefined {
  if (t.dtype === 'string' || t.size > MAX_KNOWN) return undefined;
  return { dtype: t.dtype, shape: [...t.shape], data: t.toNumbers() };
}

/** Whether some graph input fixes its first (batch) dimension. */
export function fixesBatch(graph: Graph): boolean {
  return graph.inputs.some((v) => typeof v.type?.shape?.[0] === 'number');
}

/**
 * Shape data the graph computes, by value name: what the exporters' shape
 * computations (Shape -> Gather -> Concat -> ...) hold, with symbolic dims
 * where a dimension is not static. Found by running the op registry's type
 * and value inference over a clone, so a Gather of a static axis of a
 * partly dynamic shape is known even though the Shape is not.
 *
 * With `relaxBatch`, graph inputs' fixed first dimensions become a symbol
 * and every other declared type is dropped first (a value_info would
 * reintroduce the fixed batch): a value then counts as known only if it is
 * the same whatever batch the model is fed. The onnxruntime executor
 * relaxes a fixed batch to calibrate in batches, which a Reshape to a
 * folded [1, -1] would break.
 */
export function shapeView(graph: Graph, scope: GraphScope, opset: number, relaxBatch: boolean): Map<string, KnownValue> {
  const copy = cloneGraph(graph);
  if (relaxBatch) {
    const inputs = new Set(copy.inputs);
    for (const v of copy.values()) {
      if (v.isInitializer) continue;
      const shape = v.type?.shape;
      if (!inputs.has(v)) v.type = undefined;
      else if (v.type && shape && typeof shape[0] === 'number') v.type = { dtype: v.type.dtype, shape: [BATCH, ...shape.slice(1)] };
    }
  }
  const known = new Map<Value, KnownValue>();
  const ctx: InferContext = {
    opset,
    constant: (v) => constantOf(v, scope),
    known(v) {
      if (!v) return undefined;
      const k = known.get(v);
      if (k) return k;
      const t = constantOf(v, scope);
      return t ? knownFromTensor(t) : undefined;
    },
  };
  for (const node of copy.nodes) {
    const schema = getOpSchema(node.opType, node.domain);
    try {
      const types = schema?.inferTypes?.(node, ctx) ?? [];
      node.outputs.forEach((v, i) => {
        if (types[i] && (relaxBatch || !v.type)) v.type = types[i];
      });
      schema?.inferValues?.(node, ctx).forEach((k, i) => {
        if (k && i < node.outputs.length) known.set(node.outputs[i], k);
      });
    } catch (e) {
      // A node the inference cannot type contributes nothing; what depends on it stays unknown.
      if (!isNibbleError(e)) throw e;
    }
  }
  const out = new Map<string, KnownValue>();
  for (const [v, k] of known) out.set(v.name, k);
  return out;
}

/** Integer shape data with every entry a number: safe to fold into a constant. */
export function isStaticIntegerData(k: KnownValue | undefined): k is KnownValue & { data: number[] } {
  return !!k && (k.dtype === 'int64' || k.dtype === 'int32') && k.data.every((d: Dim) => typeof d === 'number' && Number.isSafeInteger(d));
}
