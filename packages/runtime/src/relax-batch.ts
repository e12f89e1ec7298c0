import type { Dim, Graph } from '@nibble/ir';

/** The symbolic name given to a batch dimension the file had fixed. */
export const BATCH_DIM = 'batch';

/**
 * Let the graph run any batch size: a graph input's fixed first dimension
 * becomes symbolic, and the first dimension of every other declared type
 * becomes unknown, since a stale value_info would contradict the new batch.
 * Unknown is always a safe claim. (Models that bake the batch into a Reshape
 * target still fail at run time, with onnxruntime's message.)
 */
export function relaxBatchDim(g: Graph): void {
  const inputs = new Set(g.inputs);
  for (const v of g.inputs) {
    const shape = v.type?.shape;
    if (v.type && shape && shape.length > 0 && typeof shape[0] === 'number') {
      v.type = { dtype: v.type.dtype, shape: [BATCH_DIM, ...shape.slice(1)] };
    }
  }
  for (const v of g.values()) {
    const shape = v.type?.shape;
    if (inputs.has(v) || v.isInitializer || !v.type || !shape || shape.length === 0) continue;
    const relaxed: Dim[] = [null, ...shape.slice(1)];
    v.type = { dtype: v.type.dtype, shape: relaxed };
  }
}
