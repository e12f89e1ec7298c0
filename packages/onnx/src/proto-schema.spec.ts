import { attr, createModel, float16BitsToNumber, Graph, Tensor } from '@nibble/ir';
import { readOnnx, writeOnnx } from './index';
import { ensureOps } from './testing/ensure-ops';
import { decodeModel, encodeModel, floatBytes, modelObject, onnxTypes, tensorType } from './testing/proto';

// protobufjs, driven by onnx.proto, is the independent codec here: what it
// writes our reader must read, and what our writer writes it must decode.

beforeAll(() => {
  ensureOps(['Identity', 'Add', 'Constant']);
  ensureOps(['AllKinds'], 'com.test');
});

/** Initializers in every typed field onnx.proto defines, each as its spec's rules say. */
function typedInitializers(): Record<string, unknown>[] {
  return [
    { name: 'f32', data_type: 1, dims: [3], float_data: [1.5, -2.25, 3e-8] },
    { name: 'f64', data_type: 11, dims: [2], double_data: [Math.PI, -1e300] },
    { name: 'i64', data_type: 7, dims: [4], int64_data: ['-1', '1099511627776', '-9223372036854775808', '9223372036854775807'] },
    { name: 'u64', data_type: 13, dims: [2], uint64_data: ['18446744073709551615', '5'] },
    { name: 'u32', data_type: 12, dims: [2], uint64_data: ['4294967295', '7'] },
    { name: 'i32', data_type: 6, dims: [3], int32_data: [-2147483648, 2147483647, -5] },
    { name: 'i16', data_type: 5, dims: [2], int32_data: [-32768, 32767] },
    { name: 'u16', data_type: 4, dims: [2], int32_data: [65535, 1] },
    { name: 'i8', data_type: 3, dims: [2, 1], int32_data: [-128, 127] },
    { name: 'u8', data_type: 2, dims: [2], int32_data: [255, 0] },
    { name: 'b', data_type: 9, dims: [3], int32_data: [1, 0, 1] },
    // float16 as its bits: 1.5 = 0x3e00, -2 = 0xc000.
    { name: 'f16', data_type: 10, dims: [2], int32_data: [0x3e00, 0xc000] },
    // int4 [-8, 7, -1]: one int32_data entry per byte, first element in the low nibble.
    { name: 'i4', data_type: 22, dims: [3], int32_data: [0x78, 0x0f] },
    { name: 'u4', data_type: 21, dims: [1, 3], int32_data: [0xf1, 0x03] },
    { name: 'str', data_type: 8, dims: [2], string_data: [new TextEncoder().encode('héllo'), new Uint8Array([120])] },
    { name: 'raw', data_type: 1, dims: [2], raw_data: floatBytes([0.5, -7]) },
    { name: 'empty', data_type: 1, dims: [0, 4] },
  ];
}

function typedModel(): Record<string, unknown> {
  return modelObject({
    initializer: typedInitializers(),
    input: [{ name: 'x', type: tensorType(1, ['N', 3, null]) }],
    node: [{ input: ['x', 'f32'], output: ['y'], name: 'add', op_type: 'Add' }],
    output: [{ name: 'y', type: tensorType(1, ['N', 3, null]), doc_string: 'the sum' }],
  }, { producer_name: 'protobufjs', model_version: 7, metadata_props: [{ key: 'k', value: 'v' }] });
}

function checkTyped(bytes: Uint8Array): void {
  const m = readOnnx(bytes);
  const t = (name: string): Tensor => m.graph.value(name)!.const!;
  expect(Array.from(t('f32').data as Float32Array)).toEqual([1.5, -2.25, Math.fround(3e-8)]);
  expect(Array.from(t('f64').data as Float64Array)).toEqual([Math.PI, -1e300]);
  expect(Array.from(t('i64').data as BigInt64Array)).toEqual([-1n, 2n ** 40n, -(2n ** 63n), 2n ** 63n - 1n]);
  expect(Array.from(t('u64').data as BigUint64Array)).toEqual([2n ** 64n - 1n, 5n]);
  expect(Array.from(t('u32').data as Uint32Array)).toEqual([4294967295, 7]);
  expect(Array.from(t('i32').data as Int32Array)).toEqual([-2147483648, 2147483647, -5]);
  expect(Array.from(t('i16').data as Int16Array)).toEqual([-32768, 32767]);
  expect(Array.from(t('u16').data as Uint16Array)).toEqual([65535, 1]);
  expect(t('i8').shape).toEqual([2, 1]);
  expect(Array.from(t('i8').data as Int8Array)).toEqual([-128, 127]);
  expect(Array.from(t('u8').data as Uint8Array)).toEqual([255, 0]);
  expect(t('b').dtype).toBe('bool');
  expect(Array.from(t('b').data as Uint8Array)).toEqual([1, 0, 1]);
  expect(Array.from(t('f16').data as Uint16Array).map(float16BitsToNumber)).toEqual([1.5, -2]);
  expect(Array.from(t('i4').nibbles())).toEqual([-8, 7, -1]);
  expect(Array.from(t('u4').nibbles())).toEqual([1, 15, 3]);
  expect((t('str').data as Uint8Array[]).map((s) => new TextDecoder().decode(s))).toEqual(['héllo', 'x']);
  expect(Array.from(t('raw').data as Float32Array)).toEqual([0.5, -7]);
  expect(t('empty').shape).toEqual([0, 4]);
  expect(m.graph.inputs[0].type).toEqual({ dtype: 'float32', shape: ['N', 3, null] });
  expect(m.graph.outputs[0].docString).toBe('the sum');
  expect(m.producerName).toBe('protobufjs');
  expect(m.modelVersion).toBe(7);
  expect([...m.metadata]).toEqual([['k', 'v']]);
}

test('reads every typed data field, packed as onnx.proto declares them', () => {
  checkTyped(encodeModel(typedModel()));
});

test('reads the same typed fields written unpacked (repeated scalars one by one)', () => {
  const unpacked = onnxTypes((s) => s.replace(/\[packed = true\]/g, '[packed = false]'));
  const bytes = encodeModel(typedModel(), unpacked);
  expect(Buffer.compare(Buffer.from(bytes), Buffer.from(encodeModel(typedModel())))).not.toBe(0);
  checkTyped(bytes);
});

test('skips fields a newer ONNX might add, at every level', () => {
  const future = onnxTypes((s) =>
    s
      .replace('message NodeProto {', 'message NodeProto {\n  optional string future_note = 99;\n  repeated int64 future_ids = 98;')
      .replace('message GraphProto {', 'message Future { optional double x = 1; repeated Future inner = 2; optional fixed32 y = 3; }\nmessage GraphProto {\n  repeated Future future = 97;')
      .replace('message TensorProto {', 'message TensorProto {\n  optional sfixed64 future_offset = 96;')
      .replace('message ModelProto {', 'message ModelProto {\n  repeated TrainingInfo training_info = 20;\n  optional bytes future_blob = 30;')
      .replace('message StringStringEntryProto {', 'message TrainingInfo { optional GraphProto algorithm = 2; }\nmessage StringStringEntryProto {'),
  );
  const obj = typedModel() as { graph: Record<string, any> } & Record<string, unknown>;
  obj.graph.node[0].future_note = 'later';
  obj.graph.node[0].future_ids = [1, -2, 3];
  obj.graph.future = [{ x: 2.5, inner: [{ y: 7, inner: [{ x: 1 }] }] }];
  obj.graph.initializer[0].future_offset = '-42';
  obj.training_info = [{ algorithm: { name: 'train', node: [{ op_type: 'Nonsense' }] } }];
  obj.future_blob = new Uint8Array([1, 2, 3]);
  checkTyped(encodeModel(obj, future));
});

function everyKindModel(): ReturnType<typeof createModel> {
  const g = new Graph('kinds');
  const x = g.addInput('x', { dtype: 'float32', shape: ['N', 2] });
  const w = g.addInitializer('w4', Tensor.from('int4', [3], [-8, 7, -1]));
  const sub = new Graph('body');
  const sx = sub.addInput('sx', { dtype: 'float32', shape: [2] });
  sub.addOutput(sub.addNode({ opType: 'Identity', inputs: [sx], outputs: ['sy'] }).outputs[0]);
  const sub2 = new Graph('body2');
  const s2 = sub2.addInput('s2', { dtype: 'float32' });
  sub2.addOutput(s2);
  const n = g.addNode({
    opType: 'AllKinds',
    domain: 'com.test',
    name: 'every',
    inputs: [x, null, w],
    outputs: ['y', ''],
    docString: 'all attribute kinds',
    attributes: {
      f: attr.float(0.1),
      i: attr.int(-3),
      big: attr.int(2 ** 70),
      small: attr.int(-(2 ** 70)),
      s: attr.string('ünï'),
      t: attr.tensor(Tensor.from('float16', [2], [1, -0.5])),
      g: { type: 'graph', value: sub },
      fs: attr.floats([1, 2.5]),
      is: attr.ints([0, -1, 2 ** 40]),
      ss: attr.strings(['a', '']),
      ts: { type: 'tensors', value: [Tensor.from('int64', [1], [5]), Tensor.from('bool', [2], [1, 0])] },
      gs: { type: 'graphs', value: [sub2] },
    },
  });
  n.outputs[0].type = { dtype: 'float32', shape: ['N', 2] };
  g.addOutput(n.outputs[0]);
  const m = createModel(g, 21, 10);
  m.opsetImports.set('com.test', 1);
  m.docString = 'doc';
  m.metadata.set('author', 'nibble tests');
  return m;
}

test('what writeOnnx writes, protobufjs decodes field by field', () => {
  const bytes = writeOnnx(everyKindModel());
  const m = decodeModel(bytes);
  expect(m.ir_version).toBe('10');
  expect(m.opset_import).toEqual([{ domain: '', version: '21' }, { domain: 'com.test', version: '1' }]);
  expect(m.producer_name).toBe('nibble');
  expect(m.doc_string).toBe('doc');
  expect(m.metadata_props).toEqual([{ key: 'author', value: 'nibble tests' }]);
  const g = m.graph;
  expect(g.name).toBe('kinds');
  expect(g.input).toEqual([{ name: 'x', type: tensorType(1, ['N', 2]) }]);
  expect(g.output).toEqual([{ name: 'y', type: tensorType(1, ['N', 2]) }]);
  expect(g.initializer).toEqual([{ name: 'w4', data_type: 22, dims: ['3'], raw_data: [0x78, 0x0f] }]);
  const node = g.node[0];
  expect(node).toMatchObject({ input: ['x', '', 'w4'], output: ['y', ''], name: 'every', op_type: 'AllKinds', domain: 'com.test', doc_string: 'all attribute kinds' });
  const a = Object.fromEntries(node.attribute.map((x: { name: string }) => [x.name, x]));
  expect(a.f).toEqual({ name: 'f', type: 1, f: Math.fround(0.1) });
  expect(a.i).toEqual({ name: 'i', type: 2, i: '-3' });
  expect(a.big.i).toBe('9223372036854775807');
  expect(a.small.i).toBe('-9223372036854775808');
  expect(new TextDecoder().decode(new Uint8Array(a.s.s))).toBe('ünï');
  expect(a.t).toEqual({ name: 't', type: 4, t: { dims: ['2'], data_type: 10, raw_data: [0x00, 0x3c, 0x00, 0xb8] } });
  expect(a.g.type).toBe(5);
  expect(a.g.g.node[0]).toMatchObject({ input: ['sx'], output: ['sy'], op_type: 'Identity' });
  expect(a.fs).toEqual({ name: 'fs', type: 6, floats: [1, 2.5] });
  expect(a.is).toEqual({ name: 'is', type: 7, ints: ['0', '-1', '1099511627776'] });
  expect(a.ss.strings.map((s: number[]) => new TextDecoder().decode(new Uint8Array(s)))).toEqual(['a', '']);
  expect(a.ts.tensors.map((t: { data_type: number }) => t.data_type)).toEqual([7, 9]);
  expect(a.gs.graphs[0]).toMatchObject({ name: 'body2', input: [{ name: 's2' }], output: [{ name: 's2' }] });
});

test('every attribute kind survives write -> read -> write byte for byte', () => {
  const bytes = writeOnnx(everyKindModel());
  const back = readOnnx(bytes);
  expect(Buffer.compare(Buffer.from(writeOnnx(back)), Buffer.from(bytes))).toBe(0);
  const n = back.graph.node('every')!;
  expect(n.inputs[1]).toBeNull();
  expect(n.outputs[1].meta.omittedOutput).toBe(true);
  expect(n.getFloat('f', 0)).toBe(Math.fround(0.1));
  expect(n.getInts('is', [])).toEqual([0, -1, 2 ** 40]);
  expect(n.getString('s', '')).toBe('ünï');
  expect(n.getAttr('big', 'int')).toBe(2 ** 63);
  expect(n.getAttr('t', 'tensor')!.toNumbers()).toEqual([1, -0.5]);
  expect(n.getAttr('g', 'graph')!.nodes[0].opType).toBe('Identity');
  expect(n.getAttr('gs', 'graphs')![0].outputs[0].name).toBe('s2');
  expect(n.getAttr('ts', 'tensors')!.map((t) => t.dtype)).toEqual(['int64', 'bool']);
});
