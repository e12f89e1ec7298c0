import * as ort from 'onnxruntime-node';
import { attr, createModel, float16BitsToNumber, Graph, Tensor } from '@nibble/ir';
import { readOnnx, writeOnnx } from './index';
import { ensureOps } from './testing/ensure-ops';

// onnxruntime is the judge of what writeOnnx emits: packed int4 layout,
// float16 bits, omitted optional inputs, subgraphs reading outer values.

beforeAll(() => ensureOps(['DequantizeLinear', 'Cast', 'Clip', 'If', 'Add', 'Mul', 'Identity', 'Not']));

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(bytes);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

test('packed int4/uint4, float16 and bool initializers mean to onnxruntime what they mean to nibble', async () => {
  const g = new Graph('dtypes');
  const x = g.addInput('x', { dtype: 'float32', shape: [1] });
  const i4 = Tensor.from('int4', [5], [-8, 7, -1, 3, 0]);
  const u4 = Tensor.from('uint4', [3], [15, 0, 9]);
  const h = Tensor.from('float16', [3], [1.5, -0.0009765625, 65504]);
  const b = Tensor.from('bool', [3], [1, 0, 1]);
  const scale = g.addInitializer('scale', Tensor.scalar('float32', 0.25));
  const dq = (name: string, t: Tensor, zp?: Tensor): void => {
    const n = g.addNode({
      opType: 'DequantizeLinear', name, inputs: [g.addInitializer(`${name}_q`, t), scale, zp ? g.addInitializer(`${name}_zp`, zp) : null],
      outputs: [name], attributes: {},
    });
    g.addOutput(n.outputs[0]);
  };
  dq('i4', i4);
  dq('u4', u4, Tensor.scalar('uint4', 1));
  const cast = (name: string, t: Tensor): void => {
    g.addOutput(g.addNode({ opType: 'Cast', name, inputs: [g.addInitializer(`${name}_v`, t)], outputs: [name], attributes: { to: attr.int(1) } }).outputs[0]);
  };
  cast('f16', h);
  cast('b', b);
  g.addOutput(g.addNode({ opType: 'Identity', name: 'keep', inputs: [x], outputs: ['x_out'] }).outputs[0]);
  const bytes = writeOnnx(createModel(g, 21, 10));
  const out = await run(bytes, { x: new ort.Tensor('float32', new Float32Array([1]), [1]) });
  expect(Array.from(out.i4.data as Float32Array)).toEqual(Array.from(i4.nibbles()).map((v) => v * 0.25));
  expect(Array.from(out.u4.data as Float32Array)).toEqual(Array.from(u4.nibbles()).map((v) => (v - 1) * 0.25));
  expect(Array.from(out.f16.data as Float32Array)).toEqual(Array.from(h.data as Uint16Array).map(float16BitsToNumber));
  expect(Array.from(out.b.data as Float32Array)).toEqual([1, 0, 1]);
  // And back through the reader, unchanged.
  expect(Buffer.compare(Buffer.from(writeOnnx(readOnnx(bytes))), Buffer.from(bytes))).toBe(0);
});

test('a subgraph reading outer values and an omitted optional input run as intended', async () => {
  const g = new Graph('branchy');
  const x = g.addInput('x', { dtype: 'float32', shape: [3] });
  const cond = g.addInput('cond', { dtype: 'bool', shape: [] });
  const clip = g.addNode({ opType: 'Clip', name: 'clip', inputs: [x, null, g.addInitializer('hi', Tensor.scalar('float32', 2))], outputs: ['c'] });
  const branch = (name: string, op: string): Graph => {
    const b = new Graph(name);
    const c = b.createValue('c');
    c.meta.outerScope = true;
    const xx = b.createValue('x');
    xx.meta.outerScope = true;
    b.addOutput(b.addNode({ opType: op, name: `${name}_op`, inputs: [c, xx], outputs: [`${name}_out`] }).outputs[0]);
    return b;
  };
  const iff = g.addNode({
    opType: 'If', name: 'iff', inputs: [cond], outputs: ['y'],
    attributes: { then_branch: { type: 'graph', value: branch('then', 'Add') }, else_branch: { type: 'graph', value: branch('else', 'Mul') } },
  });
  g.addOutput(iff.outputs[0]);
  void clip;
  // Through the reader first, so what runs is what nibble would export after reading.
  const bytes = writeOnnx(readOnnx(writeOnnx(createModel(g, 17, 8))));
  const xs = new Float32Array([-1, 1.5, 4]);
  const feed = (c: boolean): Record<string, ort.Tensor> => ({ x: new ort.Tensor('float32', xs, [3]), cond: new ort.Tensor('bool', new Uint8Array([c ? 1 : 0]), []) });
  const clipped = Array.from(xs).map((v) => Math.min(v, 2));
  expect(Array.from((await run(bytes, feed(true))).y.data as Float32Array)).toEqual(clipped.map((c, i) => c + xs[i]));
  expect(Array.from((await run(bytes, feed(false))).y.data as Float32Array)).toEqual(clipped.map((c, i) => c * xs[i]));
});
