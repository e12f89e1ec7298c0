import { createPassContext, runPipeline, SOURCE_MODEL } from '@nibble/core';
import { cloneModel, inferShapes, type Model, NibbleError } from '@nibble/ir';
import { ensurePassesRegistered } from './recipes';

/*
 * Input shapes the user fixes (`--shape x=1,3,224,224`): a model exported
 * with dynamic or unknown-rank inputs gets concrete ones, so its MACs can be
 * counted (inspect) and its shape computations folded (convert).
 */

/** A copy of `model` whose named inputs have the given shapes (float32 when the input had no type). */
export function withInputShapes(model: Model, shapes: Readonly<Record<string, readonly number[]>>): Model {
  const copy = cloneModel(model);
  const inputs = copy.graph.inputs.filter((x) => !x.isInitializer);
  for (const [name, dims] of Object.entries(shapes)) {
    const v = inputs.find((x) => x.name === name);
    if (!v) {
      throw new NibbleError('E_BAD_OPTION', `input shape given for '${name}', which is not an input of the model`, {
        option: 'shape', hint: `the model's inputs: ${inputs.map((x) => x.name).join(', ')}`,
      });
    }
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 1)) {
      throw new NibbleError('E_BAD_OPTION', `input '${name}': every dimension must be a positive integer, got [${dims.join(',')}]`, { option: 'shape' });
    }
    const rank = v.type?.shape?.length;
    if (rank !== undefined && rank !== dims.length) {
      throw new NibbleError('E_BAD_OPTION', `input '${name}' has rank ${rank}; the shape given has ${dims.length} dims`, { option: 'shape' });
    }
    const known = v.type?.shape;
    known?.forEach((d, i) => {
      if (typeof d === 'number' && d !== dims[i]) {
        throw new NibbleError('E_BAD_OPTION', `input '${name}' has dimension ${i} fixed at ${d} by the model; the shape given says ${dims[i]}`, {
          option: 'shape', hint: `keep ${d} at position ${i}: the model's shape is [${known.map((x) => x ?? '?').join(',')}]`,
        });
      }
    });
    v.type = { dtype: v.type?.dtype ?? 'float32', shape: [...dims] };
  }
  return copy;
}

/**
 * `model` with fixed input shapes and every shape computation that they
 * decide folded to constants (Shape, Size, Gather, Concat, Reshape of
 * constants, ...), dead nodes removed, value types re-inferred. What
 * depends on the batch alone stays dynamic (fold-constants' keep-batch), so
 * the file still runs batches.
 */
export async function specializeInputShapes(model: Model, shapes: Readonly<Record<string, readonly number[]>>): Promise<Model> {
  ensurePassesRegistered();
  const fixed = withInputShapes(model, shapes);
  const ctx = createPassContext();
  ctx.services.set(SOURCE_MODEL, fixed);
  await runPipeline(fixed.graph, 'fold-constants,eliminate-dead-code', ctx);
  inferShapes(fixed.graph, { opset: fixed.opsetImports.get('') ?? 21, overwrite: true });
  return fixed;
}
