import { type Graph, NibbleError, inferShapes, parseGraph } from './index';
import { formatType } from './printer';

/** Parse `graph g(<inputs>) { <body> return %y }`, infer, and give back the graph. */
function run(inputs: string, body: string, opset?: number): Graph {
  const g = parseGraph(`graph g(${inputs}) {\n${body}\n  return %y\n}`);
  inferShapes(g, opset);
  return g;
}

const typeOf = (g: Graph, name = 'y'): string => formatType(g.value(name)!.type);
const infer = (inputs: string, body: string, opset?: number): string => typeOf(run(inputs, body, opset));

function shapeError(fn: () => unknown): NibbleError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NibbleError);
    expect((e as NibbleError).code).toBe('E_SHAPE');
    return e as NibbleError;
  }
  throw new Error('expected E_SHAPE');
}

describe('inferShapes: convolution', () => {
  const conv = (x: string, w: string, attrs: string): string => infer(`%x : f32[${x}], %w : f32[${w}]`, `%y = Conv(%x, %w) {${attrs}}`);

  it.each([
    ['same padding 3x3', '1,3,32,32', '16,3,3,3', 'pads=[1,1,1,1]', 'f32[1,16,32,32]'],
    // floor((224 + 3 + 3 - 7) / 2) + 1 = 112
    ['strided, padded 7x7', '1,3,224,224', '64,3,7,7', 'pads=[3,3,3,3], strides=[2,2]', 'f32[1,64,112,112]'],
    // dilation 2 widens 3 to 5: 20 - 5 + 1 = 16; asymmetric pads on H: 20 + 1 + 2 - 5 + 1 = 19
    ['dilated, asymmetric pads', '1,8,20,20', '8,8,3,3', 'dilations=[2,2], pads=[1,0,2,0]', 'f32[1,8,19,16]'],
    // depthwise, floor((15 + 2 - 3) / 2) + 1 = 8
    ['depthwise strided', '2,32,15,15', '32,1,3,3', 'group=32, pads=[1,1,1,1], strides=[2,2]', 'f32[2,32,8,8]'],
    ['grouped', '1,8,10,10', '12,4,3,3', 'group=2', 'f32[1,12,8,8]'],
    ['SAME_UPPER stride 2: ceil(15 / 2)', '1,3,15,15', '4,3,3,3', 'auto_pad="SAME_UPPER", strides=[2,2]', 'f32[1,4,8,8]'],
    ['VALID stride 2: floor(12 / 2) + 1', '1,3,15,15', '4,3,3,3', 'auto_pad="VALID", strides=[2,2]', 'f32[1,4,7,7]'],
    ['1-D', '1,4,100', '8,4,5', 'strides=[5]', 'f32[1,8,20]'],
    ['symbolic batch, unknown spatial', 'N,3,H,W', '16,3,3,3', 'pads=[1,1,1,1]', 'f32[N,16,?,?]'],
    ['kernel_shape attribute with unknown weight dims', '1,3,9,9', '4,3,?,?', 'kernel_shape=[3,3]', 'f32[1,4,7,7]'],
  ])('Conv %s', (_, x, w, attrs, want) => {
    expect(conv(x, w, attrs)).toBe(want);
  });

  it('Conv without a known input shape still knows the channel count and rank', () => {
    expect(infer('%x : f32[*], %w : f32[16,3,3,3]', '%y = Conv(%x, %w)')).toBe('f32[?,16,?,?]');
  });

  it('Conv names the node when channels do not match', () => {
    const e = shapeError(() => run('%x : f32[1,3,8,8], %w : f32[4,2,3,3]', '%y = Conv(%x, %w) @conv_bad'));
    expect(e.place.node).toBe('conv_bad');
    expect(e.message).toContain("node 'conv_bad' (Conv): input has 3 channels but weight [4,2,3,3] with group=1 expects 2");
    shapeError(() => run('%x : f32[1,4,8,8], %w : f32[6,1,3,3]', '%y = Conv(%x, %w) {group=4}'));
    shapeError(() => run('%x : f32[1,3,8,8], %w : f32[4,3,3,3], %b : f32[5]', '%y = Conv(%x, %w, %b)'));
    shapeError(() => run('%x : f32[1,3,2,2], %w : f32[4,3,3,3]', '%y = Conv(%x, %w)'));
    shapeError(() => run('%x : f32[1,3,8,8], %w : f32[4,3,3,3]', '%y = Conv(%x, %w) {pads=[1,1]}'));
  });

  it.each([
    // 2 * (14 - 1) + 4 - 1 - 1 = 28
    ['stride 2, pads 1', '1,16,14,14', '16,8,4,4', 'pads=[1,1,1,1], strides=[2,2]', 'f32[1,8,28,28]'],
    // 2 * (14 - 1) + 1 + 3 - 2 = 28
    ['output_padding', '1,16,14,14', '16,8,3,3', 'output_padding=[1,1], pads=[1,1,1,1], strides=[2,2]', 'f32[1,8,28,28]'],
    ['grouped', '1,16,7,7', '16,4,2,2', 'group=2, strides=[2,2]', 'f32[1,8,14,14]'],
    ['dilated', '1,2,5,5', '2,3,3,3', 'dilations=[2,2]', 'f32[1,3,9,9]'],
    ['output_shape', '1,16,14,14', '16,8,3,3', 'output_shape=[29,29], strides=[2,2]', 'f32[1,8,29,29]'],
    ['SAME_UPPER', '1,16,14,14', '16,8,3,3', 'auto_pad="SAME_UPPER", strides=[2,2]', 'f32[1,8,28,28]'],
  ])('ConvTranspose %s', (_, x, w, attrs, want) => {
    expect(infer(`%x : f32[${x}], %w : f32[${w}]`, `%y = ConvTranspose(%x, %w) {${attrs}}`)).toBe(want);
  });

  it('ConvTranspose checks input channels against weight dim 0', () => {
    shapeError(() => run('%x : f32[1,8,7,7], %w : f32[16,8,3,3]', '%y = ConvTranspose(%x, %w)'));
  });
});

describe('inferShapes: pooling', () => {
  const pool = (op: string, x: string, attrs: string): string => infer(`%x : f32[${x}]`, `%y = ${op}(%x) {${attrs}}`);

  it.each([
    // floor((112 - 3) / 2) + 1 = 55; with ceil_mode ceil(109 / 2) + 1 = 56
    ['MaxPool', '1,64,112,112', 'kernel_shape=[3,3], strides=[2,2]', 'f32[1,64,55,55]'],
    ['MaxPool', '1,64,112,112', 'ceil_mode=1, kernel_shape=[3,3], strides=[2,2]', 'f32[1,64,56,56]'],
    // ceil(5 / 2) + 1 = 4, but the 4th window would start at 6 >= 5 + 1 (inside the end pad): 3
    ['MaxPool', '1,1,5,5', 'ceil_mode=1, kernel_shape=[2,2], pads=[1,1,1,1], strides=[2,2]', 'f32[1,1,3,3]'],
    ['MaxPool', '1,1,6,6', 'ceil_mode=1, kernel_shape=[2,2], pads=[1,1,1,1], strides=[2,2]', 'f32[1,1,4,4]'],
    // dk = 2 * (3 - 1) + 1 = 5: 10 - 5 + 1 = 6
    ['MaxPool', 'N,8,10,10', 'dilations=[2,2], kernel_shape=[3,3]', 'f32[N,8,6,6]'],
    ['AveragePool', '1,480,3,40', 'count_include_pad=0, kernel_shape=[3,2], strides=[3,2]', 'f32[1,480,1,20]'],
    ['AveragePool', '1,3,7,7', 'ceil_mode=1, kernel_shape=[2,2], strides=[2,2]', 'f32[1,3,4,4]'],
    ['AveragePool', '1,3,7,7', 'auto_pad="SAME_LOWER", kernel_shape=[3,3], strides=[2,2]', 'f32[1,3,4,4]'],
  ])('%s on [%s] with %s', (op, x, attrs, want) => {
    expect(pool(op, x, attrs)).toBe(want);
  });

  it('MaxPool gives int64 indices of the same shape', () => {
    const g = run('%x : f32[1,2,4,4]', '%y, %i = MaxPool(%x) {kernel_shape=[2,2], strides=[2,2]}');
    expect(typeOf(g, 'i')).toBe('i64[1,2,2,2]');
  });

  it('global pooling keeps spatial axes as 1', () => {
    expect(infer('%x : f32[N,960,H,W]', '%y = GlobalAveragePool(%x)')).toBe('f32[N,960,1,1]');
    expect(infer('%x : f16[2,8,3]', '%y = GlobalMaxPool(%x)')).toBe('f16[2,8,1]');
  });

  it('pooling without kernel_shape or with a rank mismatch is an error', () => {
    shapeError(() => run('%x : f32[1,1,4,4]', '%y = MaxPool(%x)'));
    shapeError(() => run('%x : f32[1,1,4]', '%y = MaxPool(%x) {kernel_shape=[2,2]}'));
  });
});

describe('inferShapes: Gemm, MatMul, normalization', () => {
  it.each([
    ['%a : f32[4,3], %b : f32[5,4], %c : f32[5]', 'transA=1, transB=1', 'f32[3,5]'],
    ['%a : f32[N,256], %b : f32[256,10], %c : f32[1,10]', 'alpha=1.0', 'f32[N,10]'],
    ['%a : f32[?,256], %b : f32[256,10], %c : f32[7,1]', 'beta=0.5', 'f32[7,10]'],
  ])('Gemm %s %s', (inputs, attrs, want) => {
    expect(infer(inputs, `%y = Gemm(%a, %b, %c) {${attrs}}`)).toBe(want);
  });

  it('Gemm rejects mismatched inner dims and a C that does not broadcast', () => {
    shapeError(() => run('%a : f32[4,3], %b : f32[4,5]', '%y = Gemm(%a, %b)'));
    shapeError(() => run('%a : f32[4,3], %b : f32[3,5], %c : f32[4]', '%y = Gemm(%a, %b, %c)'));
  });

  it.each([
    ['f32[2,1,3,4]', 'f32[5,4,6]', 'f32[2,5,3,6]'],
    ['f32[4]', 'f32[4,6]', 'f32[6]'],
    ['f32[3,4]', 'f32[4]', 'f32[3]'],
    ['f32[4]', 'f32[4]', 'f32[]'],
    ['f32[N,T,64]', 'f32[64,6625]', 'f32[N,T,6625]'],
  ])('MatMul %s x %s', (a, b, want) => {
    expect(infer(`%a : ${a}, %b : ${b}`, '%y = MatMul(%a, %b)')).toBe(want);
  });

  it('MatMul rejects mismatched inner dims and element types', () => {
    shapeError(() => run('%a : f32[3,4], %b : f32[5,6]', '%y = MatMul(%a, %b)'));
    shapeError(() => run('%a : f32[3,4], %b : f16[4,6]', '%y = MatMul(%a, %b)'));
  });

  it('normalizations keep the input shape and check per-channel parameters', () => {
    const bn = '%y = BatchNormalization(%x, %s, %b, %m, %v) {epsilon=0.00001}';
    expect(infer('%x : f32[N,16,8,8], %s : f32[16], %b : f32[16], %m : f32[16], %v : f32[16]', bn)).toBe('f32[N,16,8,8]');
    shapeError(() => run('%x : f32[N,16,8,8], %s : f32[16], %b : f32[15], %m : f32[16], %v : f32[16]', bn));
    const ln = run('%x : f32[2,5,64], %s : f32[64]', '%y, %mean, %inv = LayerNormalization(%x, %s) {axis=-1}');
    expect([typeOf(ln), typeOf(ln, 'mean'), typeOf(ln, 'inv')]).toEqual(['f32[2,5,64]', 'f32[2,5,1]', 'f32[2,5,1]']);
    expect(infer('%x : f32[1,3,4,4], %s : f32[3], %b : f32[3]', '%y = InstanceNormalization(%x, %s, %b)')).toBe('f32[1,3,4,4]');
  });
});

describe('inferShapes: elementwise broadcasting', () => {
  it.each([
    ['f32[N,3,1,5]', 'f32[4,1]', 'f32[N,3,4,5]'],
    ['f32[1]', 'f32[2,3]', 'f32[2,3]'],
    ['f32[]', 'f32[N,C]', 'f32[N,C]'],
    ['f32[N,1]', 'f32[M,3]', 'f32[?,3]'],
    ['f32[N,?]', 'f32[N,7]', 'f32[N,7]'],
    ['f32[*]', 'f32[3]', 'f32[*]'],
  ])('Add %s + %s', (a, b, want) => {
    expect(infer(`%a : ${a}, %b : ${b}`, '%y = Add(%a, %b)')).toBe(want);
  });

  it('incompatible broadcasts and mixed element types throw E_SHAPE naming the node', () => {
    const e = shapeError(() => run('%a : f32[2,3], %b : f32[4,3]', '%y = Mul(%a, %b) @mul_7'));
    expect(e.message).toContain("node 'mul_7' (Mul): inputs [2,3] and [4,3] do not broadcast (2 vs 4)");
    shapeError(() => run('%a : f32[2,3], %b : i64[2,3]', '%y = Sub(%a, %b)'));
  });

  it('comparisons give bool, Where broadcasts three ways, activations keep the type', () => {
    expect(infer('%a : f32[2,1], %b : f32[3]', '%y = Greater(%a, %b)')).toBe('bool[2,3]');
    expect(infer('%c : bool[2,1], %a : i32[1,3], %b : i32[]', '%y = Where(%c, %a, %b)')).toBe('i32[2,3]');
    expect(infer('%x : f16[N,8]', '%y = HardSwish(%x)')).toBe('f16[N,8]');
    expect(infer('%x : f32[2,3], %s : f32[3]', '%y = PRelu(%x, %s)')).toBe('f32[2,3]');
    shapeError(() => run('%x : f32[2,3], %s : f32[2]', '%y = PRelu(%x, %s)'));
    expect(infer('%x : f32[4,8], %lo : f32[], %hi : f32[]', '%y = Clip(%x, %lo, %hi)', 11)).toBe('f32[4,8]');
    expect(infer('%a : f32[2,1], %b : f32[1,3], %c : f32[3]', '%y = Sum(%a, %b, %c)')).toBe('f32[2,3]');
  });
});
