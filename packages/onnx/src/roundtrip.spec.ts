import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attr, cloneModel, createModel, Graph, isNibbleError, Model, Tensor } from '@nibble/ir';
import { readOnnx, readOnnxFile, writeOnnx, writeOnnxFile } from './index';
import { ensureOps } from './testing/ensure-ops';
import { decodeModel } from './testing/proto';

beforeAll(() => ensureOps(['Add', 'MatMul', 'Relu', 'Clip', 'If', 'Identity', 'Constant', 'Reshape', 'Mul']));

/** A model with the features a reader must keep: subgraph capturing an outer value, value_info, docs, metadata. */
function sampleModel(ir = 10): Model {
  const g = new Graph('sample');
  g.docString = 'graph doc';
  const x = g.addInput('x', { dtype: 'float32', shape: ['batch', 4] });
  x.docString = 'pixels';
  const cond = g.addInput('cond', { dtype: 'bool', shape: [] });
  const w = g.addInitializer('w', Tensor.from('float32', [4, 4], Array.from({ length: 16 }, (_, i) => (i % 5) - 2)));
  w.docString = 'weights';
  const shape = g.addInitializer('shape', Tensor.from('int64', [2], [-1, 4]));
  const mm = g.addNode({ opType: 'MatMul', name: 'mm', inputs: [x, w], outputs: ['h'], docString: 'matmul doc' });
  mm.outputs[0].type = { dtype: 'float32', shape: ['batch', 4] };
  const clip = g.addNode({ opType: 'Clip', name: 'clip', inputs: [mm.outputs[0], null, g.addInitializer('hi', Tensor.scalar('float32', 6))], outputs: ['c'] });
  const k = g.addNode({ opType: 'Constant', name: 'k', inputs: [], outputs: ['k'], attributes: { value: attr.tensor(Tensor.scalar('float32', 0.5)) } });
  const branch = (name: string, op: string): Graph => {
    const b = new Graph(name);
    // Reads 'c' and 'k' of the enclosing graph by name.
    const c = b.createValue('c');
    c.meta.outerScope = true;
    const kk = b.createValue('k');
    kk.meta.outerScope = true;
    const n = b.addNode({ opType: op, name: `${name}_op`, inputs: [c, kk], outputs: [`${name}_out`] });
    b.addOutput(n.outputs[0]);
    return b;
  };
  const iff = g.addNode({
    opType: 'If', name: 'iff', inputs: [cond], outputs: ['z'],
    attributes: { then_branch: { type: 'graph', value: branch('then', 'Add') }, else_branch: { type: 'graph', value: branch('else', 'Mul') } },
  });
  const r = g.addNode({ opType: 'Reshape', name: 'r', inputs: [iff.outputs[0], shape], outputs: ['y'] });
  r.outputs[0].type = { dtype: 'float32', shape: [null, 4] };
  g.addOutput(r.outputs[0]);
  void clip;
  void k;
  const m = createModel(g, 17, ir);
  m.producerVersion = '0.1.0';
  m.domain = 'org.nibble.test';
  m.modelVersion = 3;
  m.docString = 'model doc';
  m.metadata.set('source', 'roundtrip.spec');
  m.metadata.set('z-last', 'kept in order');
  return m;
}

test('write -> read keeps every fact the IR holds; write again gives the same bytes', () => {
  const bytes = writeOnnx(sampleModel());
  const m = readOnnx(bytes);
  expect(Buffer.compare(Buffer.from(writeOnnx(m)), Buffer.from(bytes))).toBe(0);
  expect(m).toMatchObject({ irVersion: 10, producerName: 'nibble', producerVersion: '0.1.0', domain: 'org.nibble.test', modelVersion: 3, docString: 'model doc' });
  expect([...m.opsetImports]).toEqual([['', 17]]);
  expect([...m.metadata]).toEqual([['source', 'roundtrip.spec'], ['z-last', 'kept in order']]);
  const g = m.graph;
  expect(g.docString).toBe('graph doc');
  expect(g.inputs.map((v) => [v.name, v.type, v.docString])).toEqual([
    ['x', { dtype: 'float32', shape: ['batch', 4] }, 'pixels'],
    ['cond', { dtype: 'bool', shape: [] }, undefined],
  ]);
  expect(g.initializers.map((v) => v.name)).toEqual(['w', 'shape', 'hi']);
  expect(g.value('w')!.docString).toBe('weights');
  expect(Array.from(g.value('shape')!.const!.data as BigInt64Array)).toEqual([-1n, 4n]);
  expect(g.nodes.map((n) => n.name)).toEqual(['mm', 'clip', 'k', 'iff', 'r']);
  expect(g.node('mm')!.docString).toBe('matmul doc');
  expect(g.value('h')!.type).toEqual({ dtype: 'float32', shape: ['batch', 4] });
  expect(g.value('c')!.type).toBeUndefined();
  expect(g.node('clip')!.inputs.map((v) => v?.name ?? null)).toEqual(['h', null, 'hi']);
  expect(g.outputs.map((v) => [v.name, v.type])).toEqual([['y', { dtype: 'float32', shape: [null, 4] }]]);
  const then = g.node('iff')!.getAttr('then_branch', 'graph')!;
  expect(then.nodes[0].inputs.map((v) => [v!.name, v!.meta.outerScope])).toEqual([['c', true], ['k', true]]);
  expect(then.inputs).toEqual([]);
  g.verify();
});

test('writing is deterministic: the same model, or a clone of it, gives the same bytes', () => {
  const m = sampleModel();
  const a = writeOnnx(m);
  expect(Buffer.compare(Buffer.from(writeOnnx(m)), Buffer.from(a))).toBe(0);
  expect(Buffer.compare(Buffer.from(writeOnnx(cloneModel(m))), Buffer.from(a))).toBe(0);
  expect(Buffer.compare(Buffer.from(writeOnnx(sampleModel())), Buffer.from(a))).toBe(0);
});

test('IR < 4 repeats initializers as graph inputs; reading marks them and keeps them initializers', () => {
  const bytes = writeOnnx(sampleModel(3));
  const proto = decodeModel(bytes);
  expect(proto.graph.input.map((v: { name: string }) => v.name)).toEqual(['x', 'cond', 'w', 'shape', 'hi']);
  expect(proto.graph.input[2].type.tensor_type.shape.dim.map((d: { dim_value: string }) => d.dim_value)).toEqual(['4', '4']);
  const m = readOnnx(bytes);
  expect(m.graph.inputs.map((v) => v.name)).toEqual(['x', 'cond']);
  expect(m.graph.initializers.map((v) => [v.name, v.meta.initializerIsInput])).toEqual([['w', true], ['shape', true], ['hi', true]]);
  // Raised to IR 10, the flagged initializers stay overridable inputs, as the file had them.
  m.irVersion = 10;
  expect(decodeModel(writeOnnx(m)).graph.input.length).toBe(5);
  // A new initializer is a plain constant.
  m.graph.initializers.forEach((v) => delete v.meta.initializerIsInput);
  expect(decodeModel(writeOnnx(m)).graph.input.length).toBe(2);
});

test('int attributes beyond the int64 range are clamped to it', () => {
  const g = new Graph();
  const x = g.addInput('x', { dtype: 'float32', shape: [1] });
  g.addOutput(g.addNode({ opType: 'Identity', inputs: [x], outputs: ['y'], attributes: { big: attr.int(1e30), neg: attr.int(-1e30), ends: attr.ints([2 ** 63, 5]) } }).outputs[0]);
  const a = decodeModel(writeOnnx(createModel(g))).graph.node[0].attribute;
  expect(a.map((x: { i?: string; ints?: string[] }) => x.i ?? x.ints)).toEqual(['9223372036854775807', '-9223372036854775808', ['9223372036854775807', '5']]);
  g.nodes[0].setAttr('frac', attr.int(1.5));
  expect(() => writeOnnx(createModel(g))).toThrow(/not an integer/);
});

describe('files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nibble-onnx-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('writeOnnxFile replaces the file atomically and leaves no temporary behind', () => {
    const path = join(dir, 'model.onnx');
    writeFileSync(path, 'old contents');
    writeOnnxFile(sampleModel(), path);
    expect(readdirSync(dir)).toEqual(['model.onnx']);
    expect(Buffer.compare(readFileSync(path), Buffer.from(writeOnnx(sampleModel())))).toBe(0);
    expect(readOnnxFile(path).graph.name).toBe('sample');
  });

  test('a write that cannot happen is a typed error naming the path', () => {
    const path = join(dir, 'missing-dir', 'model.onnx');
    try {
      writeOnnxFile(sampleModel(), path);
      throw new Error('no error');
    } catch (e) {
      expect(isNibbleError(e) && e.place.file).toBe(path);
    }
    expect(existsSync(join(dir, 'missing-dir'))).toBe(false);
  });
});
