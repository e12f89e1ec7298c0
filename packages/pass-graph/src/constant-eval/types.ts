import type { Node, Tensor } from '@nibble/ir';

/**
 * Why a node whose inputs are all constant is still left in the graph: a
 * case the evaluator does not implement (a dtype, an attribute), or one whose
 * result ONNX leaves undefined (an integer division by zero, a float cast out
 * of an integer's range). Not a user error, so not a NibbleError: the pass
 * catches it, logs the reason and keeps the node for the runtime.
 */
export class CannotFold extends Error {
  constructor(readonly node: Node, reason: string) {
    super(`${node.opType} '${node.name}': ${reason}`);
    this.name = 'CannotFold';
  }
}

/** One evaluator per op: the output tensors from the node's attributes and input tensors (null where omitted). */
export type OpEvaluator = (node: Node, inputs: readonly (Tensor | null)[]) => Tensor[];

/** Ops whose result depends only on the input's shape (Shape, Size): they fold even when the data is not constant. */
export type ShapeEvaluator = (node: Node, shape: readonly number[]) => Tensor[];
