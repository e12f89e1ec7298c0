import { attr, type Attribute } from '../attributes';
import type { DType } from '../dtype';
import { NibbleError } from '../errors';
import type { Dim, Graph, Value } from '../graph';
import { Tensor } from '../tensor';
import { layoutShape, NCHW_TO_NHWC, NHWC_TO_NCHW, type LoweredTensor, type ValueLayout } from './nhwc';
import { transposeTensor } from './transpose';

export interface GraphBuilderOptions {
  /**
   * Change the layout of a rank-4 value whose image is 1x1 (and whose
   * channel count is known) with a Reshape instead of a Transpose: NHWC and
   * NCHW then hold the elements in the same order. Default false.
   */
  reshapeUnitImages?: boolean;
}

/**
 * What importers build a graph with: initializers under unique names,
 * one-output nodes whose output type the importer states, and layout
 * changes (memoized, so a tensor read by many nodes is transposed once).
 */
export class GraphBuilder {
  readonly graph: Graph;
  private readonly converted = new Map<Value, Value>();
  private readonly reshapeUnitImages: boolean;

  constructor(graph: Graph, options: GraphBuilderOptions = {}) {
    this.graph = graph;
    this.reshapeUnitImages = options.reshapeUnitImages ?? false;
  }

  /** An initializer holding `tensor`, named `name` or a unique variant of it. */
  constant(name: string, tensor: Tensor): Value {
    return this.graph.addInitializer(this.graph.uniqueName(name), tensor);
  }

  /** A rank-1 int64 initializer (shapes, axes, pads). */
  int64s(name: string, values: readonly number[]): Value {
    return this.constant(name, Tensor.from('int64', [values.length], values));
  }

  /** A float32 scalar initializer. */
  floatScalar(name: string, x: number): Value {
    return this.constant(name, Tensor.scalar('float32', x));
  }

  /** Add a one-output node whose output has the given IR shape and dtype. */
  node(
    opType: string,
    inputs: (Value | null)[],
    attributes: Record<string, Attribute>,
    name: string,
    shape: Dim[],
    dtype: DType = 'float32',
  ): Value {
    const unique = this.graph.uniqueName(name);
    // Omitted optional inputs at the end are dropped, as ONNX writes them.
    const used = [...inputs];
    while (used.length && used[used.length - 1] === null) used.pop();
    const n = this.graph.addNode({ opType, name: unique, inputs: used, outputs: [unique], attributes });
    const v = n.outputs[0];
    v.type = { dtype, shape };
    return v;
  }

  /** The IR value holding `t` in `layout`, inserting (once) the Transpose or constant copy that takes. */
  as(t: LoweredTensor, layout: ValueLayout): Value {
    if (t.layout === layout) return t.value;
    // Only images change layout; a file that feeds another rank to an image op is malformed (found by fuzzing TFLite).
    if (t.shape.length !== 4) {
      throw new NibbleError('E_SHAPE', `'${t.value.name}' is rank ${t.shape.length}, but an image op reads it in ${layout.toUpperCase()} layout (rank 4)`, {
        value: t.value.name, hint: 'the model file is damaged or gives this op an input of the wrong rank; re-export it',
      });
    }
    const memo = this.converted.get(t.value);
    if (memo) return memo;
    const perm = layout === 'nchw' ? NHWC_TO_NCHW : NCHW_TO_NHWC;
    const dtype = t.value.type?.dtype ?? 'float32';
    const target = layoutShape(t.shape, layout);
    let v: Value;
    if (t.value.const) {
      v = this.constant(`${t.value.name}/${layout}`, transposeTensor(t.value.const, perm));
    } else if (this.reshapeUnitImages && t.shape[1] === 1 && t.shape[2] === 1 && typeof t.shape[3] === 'number') {
      // 0 copies the batch, whatever it is at run time.
      const shape = target.map((d, i) => (i === 0 ? 0 : (d as number)));
      v = this.node('Reshape', [t.value, this.int64s(`${t.value.name}/to_${layout}_shape`, shape)], {}, `${t.value.name}/to_${layout}`, target, dtype);
    } else {
      v = this.node('Transpose', [t.value], { perm: attr.ints(perm) }, `${t.value.name}/to_${layout}`, target, dtype);
    }
    this.converted.set(t.value, v);
    return v;
  }
}
