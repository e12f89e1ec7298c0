import { NibbleError, Tensor, attr, type Attribute, type Dim, type DType, type Graph, type Value } from '@nibble/ir';

/**
 * How an IR value holds a TensorFlow tensor: 'plain' keeps TensorFlow's
 * element order; 'nchw' holds a rank-4 NHWC tensor transposed to NCHW, the
 * layout of ONNX convolutions.
 */
export type Layout = 'plain' | 'nchw';

/** A dimension of a TensorFlow shape: a number, or null when unknown (the batch, usually). */
export type TfDim = number | null;

/** A TensorFlow tensor as lowered so far: its IR value, the layout it is in, and its TensorFlow (NHWC) shape. */
export interface Lowered {
  value: Value;
  layout: Layout;
  shape: TfDim[];
}

export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];

/** IR shape of a tensor of TensorFlow shape `shape` held in `layout` (unknown dims stay null). */
export function irShape(shape: readonly TfDim[], layout: Layout): Dim[] {
  return layout === 'nchw' ? TO_NCHW.map((a) => shape[a]) : [...shape];
}

/** IR axis of TensorFlow axis `axis` (negative counts from the end). */
export function irAxis(axis: number, rank: number, layout: Layout): number {
  const a = axis < 0 ? axis + rank : axis;
  return layout === 'nchw' ? TO_NCHW.indexOf(a) : a;
}

/** Transposed copy of a constant tensor (any dtype with plain storage). */
export function transposeTensor(t: Tensor, perm: readonly number[]): Tensor {
  const rank = t.shape.length;
  const outShape = perm.map((p) => t.shape[p]);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1] * t.shape[i + 1];
  // Source stride of each output axis; walk the output in order and step the source index.
  const step = perm.map((p) => inStrides[p]);
  const out = new Tensor(t.dtype, outShape);
  const src = t.data as Float32Array;
  const dst = out.data as Float32Array;
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const inner = rank ? outShape[last] : 1;
  const innerStep = rank ? step[last] : 0;
  let s = 0;
  for (let o = 0; o < t.size; o += inner) {
    for (let k = 0, q = s; k < inner; k++, q += innerStep) dst[o + k] = src[q];
    for (let i = last - 1; i >= 0; i--) {
      s += step[i];
      if (++idx[i] < outShape[i]) break;
      s -= step[i] * outShape[i];
      idx[i] = 0;
    }
  }
  return out;
}

/**
 * Builds the IR graph: nodes with typed outputs, constants, and layout
 * changes (memoized, so a tensor read by many nodes is transposed once).
 */
export class Emitter {
  readonly graph: Graph;
  private readonly converted = new Map<Value, Value>();

  constructor(graph: Graph) {
    this.graph = graph;
  }

  constant(name: string, tensor: Tensor): Value {
    return this.graph.addInitializer(this.graph.uniqueName(name), tensor);
  }

  int64s(name: string, values: readonly number[]): Value {
    return this.constant(name, Tensor.from('int64', [values.length], values));
  }

  floatScalar(name: string, x: number): Value {
    return this.constant(name, Tensor.scalar('float32', x));
  }

  /** Add a one-output node whose output has the given IR shape. */
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
  as(t: Lowered, layout: Layout): Value {
    if (t.layout === layout) return t.value;
    if (t.shape.length !== 4) throw new NibbleError('E_INTERNAL', `layout change of rank-${t.shape.length} value '${t.value.name}'`);
    const memo = this.converted.get(t.value);
    if (memo) return memo;
    const perm = layout === 'nchw' ? TO_NCHW : TO_NHWC;
    let v: Value;
    const dtype = t.value.type?.dtype ?? 'float32';
    const target = irShape(t.shape, layout);
    if (t.value.const) {
      v = this.constant(`${t.value.name}/${layout}`, transposeTensor(t.value.const, perm));
    } else if (t.shape[1] === 1 && t.shape[2] === 1 && typeof t.shape[3] === 'number') {
      // With a 1x1 image NHWC and NCHW hold the elements in the same order: a Reshape does.
      const shape = target.map((d, i) => (i === 0 ? 0 : (d as number)));
      v = this.node('Reshape', [t.value, this.int64s(`${t.value.name}/to_${layout}_shape`, shape)], {}, `${t.value.name}/to_${layout}`, target, dtype);
    } else {
      v = this.node('Transpose', [t.value], { perm: attr.ints(perm) }, `${t.value.name}/to_${layout}`, target, dtype);
    }
    this.converted.set(t.value, v);
    return v;
  }
}
