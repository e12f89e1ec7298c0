import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { type Attribute, attr, cloneModel, createModel, Graph, type Model, Tensor } from '@nibble/ir';
import { SeededRandom } from '@nibble/quant';
import { readOnnxFile } from '../read';
import { writeOnnx } from '../write';
import { lowerToQdq } from './lower';
import { upgradeToQdqOpset } from './upgrade-opset';

/*
 * onnxruntime runs every opset, so it judges each rewrite: the model at its
 * old opset and the model raised to 21 must give the same outputs, bit for bit.
 */

type Feed = Record<string, ort.Tensor>;

async function run(bytes: Uint8Array, feeds: Feed): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(bytes);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

const IR_OF_OPSET: Record<number, number> = { 7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7, 13: 7, 15: 8, 17: 8 };

interface OpCase {
  name: string;
  opset: number;
  op: string;
  x: number[];
  attributes?: Record<string, Attribute>;
  /** Extra constant inputs after x (null = omitted). */
  consts?: (Tensor | null)[];
  outputs?: number;
  expectOps?: string[];
}

function buildCase(c: OpCase): Model {
  const g = new Graph(c.name);
  const x = g.addInput('x', { dtype: 'float32', shape: c.x });
  const inputs = [x, ...(c.consts ?? []).map((t, i) => (t ? g.addInitializer(`c${i}`, t) : null))];
  const n = g.addNode({ opType: c.op, name: 'op', inputs, outputs: Array.from({ length: c.outputs ?? 1 }, (_, i) => `y${i}`), attributes: c.attributes ?? {} });
  for (const o of n.outputs) g.addOutput(o);
  return createModel(g, c.opset, IR_OF_OPSET[c.opset]);
}

function feed(shape: number[], seed: number): Feed {
  const rng = new SeededRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return { x: new ort.Tensor('float32', Float32Array.from(rng.fill(size, (r) => r.normal(0, 2))), shape) };
}

const f32 = (shape: number[], v: number[]) => Tensor.from('float32', shape, v);
const i64 = (v: number[]) => Tensor.from('int64', [v.length], v);

const CASES: OpCase[] = [
  { name: 'Clip-6 min/max attributes', opset: 9, op: 'Clip', x: [2, 3, 4], attributes: { min: attr.float(-0.5), max: attr.float(1.25) } },
  { name: 'Clip-6 only max', opset: 9, op: 'Clip', x: [2, 3, 4], attributes: { max: attr.float(0.75) } },
  { name: 'Slice-1 attributes', opset: 9, op: 'Slice', x: [3, 5, 6], attributes: { starts: attr.ints([1, -4]), ends: attr.ints([3, 1000]), axes: attr.ints([0, 2]) } },
  { name: 'Slice-1 without axes', opset: 9, op: 'Slice', x: [3, 5], attributes: { starts: attr.ints([0, 1]), ends: attr.ints([2, 4]) } },
  { name: 'Pad-2 constant value', opset: 9, op: 'Pad', x: [1, 2, 3, 3], attributes: { pads: attr.ints([0, 0, 1, 2, 0, 1, 2, 1]), value: attr.float(0.5) } },
  { name: 'Pad-2 reflect', opset: 9, op: 'Pad', x: [1, 2, 4, 4], attributes: { pads: attr.ints([0, 0, 1, 2, 0, 0, 2, 1]), mode: attr.string('reflect') } },
  { name: 'Squeeze-11 axes', opset: 11, op: 'Squeeze', x: [1, 3, 1, 4], attributes: { axes: attr.ints([0, 2]) } },
  { name: 'Unsqueeze-11 axes', opset: 11, op: 'Unsqueeze', x: [3, 4], attributes: { axes: attr.ints([0, 3]) } },
  { name: 'ReduceMean-11 axes', opset: 11, op: 'ReduceMean', x: [2, 3, 4, 5], attributes: { axes: attr.ints([2, 3]), keepdims: attr.int(0) } },
  { name: 'ReduceSum-11 axes', opset: 11, op: 'ReduceSum', x: [2, 3, 4], attributes: { axes: attr.ints([1]) } },
  { name: 'ReduceMax-13 without axes', opset: 13, op: 'ReduceMax', x: [2, 3, 4] },
  { name: 'Split-11 sizes', opset: 11, op: 'Split', x: [2, 7], attributes: { axis: attr.int(1), split: attr.ints([2, 5]) }, outputs: 2 },
  { name: 'Split-11 even', opset: 11, op: 'Split', x: [6, 2], outputs: 3 },
  { name: 'Softmax-11 axis 1 of rank 4 (flattening)', opset: 11, op: 'Softmax', x: [2, 3, 2, 2], expectOps: ['Flatten', 'Shape', 'Softmax', 'Reshape'] },
  { name: 'Softmax-9 default axis of rank 2', opset: 9, op: 'Softmax', x: [3, 5], expectOps: ['Softmax'] },
  { name: 'LogSoftmax-11 axis 2 of rank 3', opset: 11, op: 'LogSoftmax', x: [2, 3, 4], attributes: { axis: attr.int(2) }, expectOps: ['LogSoftmax'] },
  { name: 'Hardmax-11 axis 0', opset: 11, op: 'Hardmax', x: [2, 3, 4], attributes: { axis: attr.int(0) } },
  { name: 'Dropout-7 ratio', opset: 9, op: 'Dropout', x: [2, 3], attributes: { ratio: attr.float(0.3) } },
  { name: 'TopK-1 k attribute', opset: 9, op: 'TopK', x: [3, 6], attributes: { k: attr.int(2) }, outputs: 2 },
  { name: 'Upsample-7 nearest, scales attribute', opset: 7, op: 'Upsample', x: [1, 2, 3, 3], attributes: { scales: attr.floats([1, 1, 2, 3]), mode: attr.string('nearest') } },
  { name: 'Upsample-9 nearest', opset: 9, op: 'Upsample', x: [1, 2, 3, 3], consts: [f32([4], [1, 1, 2, 2])] },
  { name: 'Upsample-9 linear', opset: 9, op: 'Upsample', x: [1, 2, 3, 4], consts: [f32([4], [1, 1, 2, 2])], attributes: { mode: attr.string('linear') } },
  { name: 'Resize-10 nearest', opset: 10, op: 'Resize', x: [1, 2, 3, 3], consts: [f32([4], [1, 1, 2, 3])] },
  { name: 'Resize-10 linear', opset: 10, op: 'Resize', x: [1, 2, 3, 3], consts: [f32([4], [1, 1, 2, 2])], attributes: { mode: attr.string('linear') } },
  { name: 'Scatter-9', opset: 9, op: 'Scatter', x: [3, 3], consts: [i64([1, 0, 2]).reshape([1, 3]), f32([1, 3], [7, 8, 9])], attributes: { axis: attr.int(0) } },
  { name: 'BatchNormalization-7 spatial', opset: 7, op: 'BatchNormalization', x: [2, 3, 2, 2], consts: [f32([3], [1, 2, 0.5]), f32([3], [0, 1, -1]), f32([3], [0.1, 0.2, 0.3]), f32([3], [1, 2, 3])], attributes: { spatial: attr.int(1) } },
];

describe('upgradeToQdqOpset keeps what each rewritten op computes', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const old = buildCase(c);
    const upgraded = cloneModel(old);
    upgradeToQdqOpset(upgraded);
    expect(upgraded.opsetImports.get('')).toBe(21);
    expect(upgraded.irVersion).toBe(10);
    if (c.expectOps) expect(upgraded.graph.nodes.map((n) => n.opType)).toEqual(c.expectOps);
    const feeds = feed(c.x, 5);
    const a = await run(writeOnnx(old), feeds);
    const b = await run(writeOnnx(upgraded), feeds);
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const k of Object.keys(a)) {
      expect(b[k].dims).toEqual(a[k].dims);
      expect(Array.from(b[k].data as Float32Array)).toEqual(Array.from(a[k].data as Float32Array));
    }
  });

  it('refuses what has no opset-21 form, naming the node', () => {
    const m = buildCase({ name: 'bn', opset: 7, op: 'BatchNormalization', x: [2, 3], consts: [f32([3], [1, 1, 1]), f32([3], [0, 0, 0]), f32([3], [0, 0, 0]), f32([3], [1, 1, 1])], attributes: { spatial: attr.int(0) } });
    expect(() => upgradeToQdqOpset(m)).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED', place: expect.objectContaining({ node: 'op' }) }));
    const crop = buildCase({ name: 'crop', opset: 7, op: 'ImageScaler', x: [1, 3, 2, 2] });
    expect(() => upgradeToQdqOpset(crop)).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED' }));
  });
});

test('the PP-OCR direction classifier (opset 9) lowered without annotations runs like the original', async () => {
  const path = join(__dirname, '..', '..', '..', '..', 'node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
  const model = readOnnxFile(path);
  expect(model.opsetImports.get('')).toBe(9);
  const lowered = lowerToQdq(model);
  expect(lowered.opsetImports.get('')).toBe(21);
  expect(lowered.graph.nodes.filter((n) => n.opType === 'Clip').every((n) => n.inputs.length >= 2 && !n.attributes.has('min'))).toBe(true);
  const feeds = feed([2, 3, 48, 192], 9);
  const a = await run(writeOnnx(model), feeds);
  const b = await run(writeOnnx(lowered), feeds);
  const k = Object.keys(a)[0];
  expect(Array.from(b[k].data as Float32Array)).toEqual(Array.from(a[k].data as Float32Array));
});
