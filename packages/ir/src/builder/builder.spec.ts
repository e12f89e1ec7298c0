import {
  Graph, GraphBuilder, layoutAxis, layoutShape, NHWC_TO_NCHW, SeededRandom, samePadding, Tensor, transposeTensor,
  type LoweredTensor,
} from '../index';
import { NCHW_TO_NHWC } from './nhwc';

/** Element at multi-index `idx` of a row-major array of shape `shape`. */
function at(data: ArrayLike<number>, shape: readonly number[], idx: readonly number[]): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i] + idx[i];
  return data[flat];
}

/** Every multi-index of `shape`, in row-major order. */
function* indices(shape: readonly number[]): Generator<number[]> {
  const idx = new Array<number>(shape.length).fill(0);
  const size = shape.reduce((a, b) => a * b, 1);
  for (let n = 0; n < size; n++) {
    yield [...idx];
    for (let i = shape.length - 1; i >= 0 && ++idx[i] === shape[i]; i--) idx[i] = 0;
  }
}

describe('transposeTensor', () => {
  it('puts input axis perm[i] at output axis i (brute force over every element)', () => {
    const r = new SeededRandom(17);
    const shape = [2, 3, 4, 5];
    const t = Tensor.from('float32', shape, r.fill(120, (g) => g.uniform()));
    for (const perm of [NHWC_TO_NCHW, NCHW_TO_NHWC, [3, 2, 1, 0], [1, 0, 3, 2], [0, 1, 2, 3]]) {
      const out = transposeTensor(t, perm);
      expect(out.shape).toEqual(perm.map((p) => shape[p]));
      for (const o of indices(out.shape)) {
        const src = new Array<number>(4);
        perm.forEach((p, i) => (src[p] = o[i]));
        expect(at(out.data as Float32Array, out.shape, o)).toBe(at(t.data as Float32Array, shape, src));
      }
    }
  });

  it('keeps the dtype and handles rank 0 and 1', () => {
    const ints = transposeTensor(Tensor.from('int32', [2, 3], [1, 2, 3, 4, 5, 6]), [1, 0]);
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.data as Int32Array)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(transposeTensor(Tensor.scalar('float32', 7), []).toNumbers()).toEqual([7]);
    expect(transposeTensor(Tensor.from('float32', [3], [1, 2, 3]), [0]).toNumbers()).toEqual([1, 2, 3]);
  });

  it('refuses packed int4 storage', () => {
    expect(() => transposeTensor(new Tensor('int4', [2, 2]), [1, 0])).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
  });
});

describe('NHWC layouts', () => {
  it('maps source shapes and axes to the IR layout', () => {
    expect(layoutShape([1, 8, 6, 3], 'nchw')).toEqual([1, 3, 8, 6]);
    expect(layoutShape([null, 8, 6, 3], 'plain')).toEqual([null, 8, 6, 3]);
    expect([0, 1, 2, 3, -1].map((a) => layoutAxis(a, 4, 'nchw'))).toEqual([0, 2, 3, 1, 1]);
    expect(layoutAxis(-1, 2, 'plain')).toBe(1);
  });

  it("pads like TensorFlow's SAME: output ceil(in / stride), the odd pixel at the end", () => {
    expect(samePadding(15, 3, 2, 1)).toEqual([1, 1]); // out 8: 7 * 2 + 3 - 15 = 2
    expect(samePadding(14, 3, 2, 1)).toEqual([0, 1]); // out 7: 6 * 2 + 3 - 14 = 1
    expect(samePadding(10, 3, 1, 2)).toEqual([2, 2]); // effective kernel 5
    expect(samePadding(4, 1, 4, 1)).toEqual([0, 0]);
    expect(samePadding(5, 2, 1, 1)).toEqual([0, 1]);
  });
});

describe('GraphBuilder', () => {
  function activation(b: GraphBuilder, shape: number[], name = 'x'): LoweredTensor<number> {
    const value = b.graph.addInput(name, { dtype: 'float32', shape: layoutShape(shape, 'nchw') });
    return { value, layout: 'nchw', shape };
  }

  it('adds typed one-output nodes, dropping omitted trailing inputs, under unique names', () => {
    const b = new GraphBuilder(new Graph('g'));
    const x = b.graph.addInput('x', { dtype: 'float32', shape: [2, 3] });
    const y = b.node('Clip', [x, b.floatScalar('lo', 0), null, null], {}, 'y', [2, 3]);
    const y2 = b.node('Relu', [y], {}, 'y', [2, 3], 'float32');
    expect(y.producer!.inputs.length).toBe(2);
    expect(y.type).toEqual({ dtype: 'float32', shape: [2, 3] });
    expect(y2.name).not.toBe(y.name);
    expect(b.int64s('lo', [1, 2]).name).not.toBe('lo');
  });

  it('transposes a constant once, as an initializer', () => {
    const b = new GraphBuilder(new Graph('g'));
    const w = b.constant('w', Tensor.from('float32', [1, 1, 2, 3], [1, 2, 3, 4, 5, 6]));
    const t: LoweredTensor<number> = { value: w, layout: 'plain', shape: [1, 1, 2, 3] };
    const v = b.as(t, 'nchw');
    expect(v.isInitializer).toBe(true);
    expect(v.const!.shape).toEqual([1, 3, 1, 2]);
    expect(v.const!.toNumbers()).toEqual([1, 4, 2, 5, 3, 6]);
    expect(b.as(t, 'nchw')).toBe(v);
    expect(b.graph.nodes.length).toBe(0);
  });

  it('inserts one Transpose per activation and layout', () => {
    const b = new GraphBuilder(new Graph('g'));
    const x = activation(b, [1, 1, 1, 8]);
    const v = b.as(x, 'plain');
    expect(b.as(x, 'plain')).toBe(v);
    expect(b.as(x, 'nchw')).toBe(x.value);
    expect(v.producer!.opType).toBe('Transpose');
    expect(v.producer!.getInts('perm', [])).toEqual(NCHW_TO_NHWC);
    expect(v.type).toEqual({ dtype: 'float32', shape: [1, 1, 1, 8] });
    expect(b.graph.nodes.length).toBe(1);
  });

  it('with reshapeUnitImages, moves a 1x1 image with a Reshape that keeps the batch', () => {
    const b = new GraphBuilder(new Graph('g'), { reshapeUnitImages: true });
    const v = b.as(activation(b, [1, 1, 1, 8]), 'plain');
    expect(v.producer!.opType).toBe('Reshape');
    expect(v.producer!.inputs[1]!.const!.toNumbers()).toEqual([0, 1, 1, 8]);
    const w = b.as(activation(b, [1, 2, 2, 8], 'y'), 'plain');
    expect(w.producer!.opType).toBe('Transpose');
  });

  it('refuses a layout change of a value that is not rank 4', () => {
    const b = new GraphBuilder(new Graph('g'));
    const value = b.graph.addInput('x', { dtype: 'float32', shape: [2, 3] });
    // A damaged file can ask for it: a typed shape error naming the value, not an internal one.
    expect(() => b.as({ value, layout: 'plain', shape: [2, 3] }, 'nchw')).toThrow(expect.objectContaining({ code: 'E_SHAPE', place: expect.objectContaining({ value: 'x' }) }));
  });
});
