import { NibbleError, Tensor, parseGraph, printGraph } from './index';

const lines = (...l: string[]): string => `${l.join('\n')}\n`;

/** Canonical texts: printGraph(parseGraph(s)) must give s back byte for byte. */
const CANONICAL: [string, string][] = [
  ['empty graph', lines('graph empty() {', '  return', '}')],
  [
    'a small conv net with static and symbolic shapes',
    lines(
      'graph net(%x : f32[N,1,28,28]) {',
      '  %w1 : f32[2,1,1,1] = const [0.5, -0.25]',
      '  %b1 : f32[2] = const [0, 1]',
      '  %conv1 : f32[N,2,28,28] = Conv(%x, %w1, %b1) {pads=[0,0,0,0], strides=[1,1]}',
      '  %r : f32[N,2,28,28] #one-sided = Relu(%conv1)',
      '  return %r',
      '}',
    ),
  ],
  [
    'unknown types, unknown rank, unknown and quoted dims, scalars',
    lines(
      'graph t(%a : ?, %b : f32[*], %c : i64[?,3,"h/2",batch_size], %d : bool[]) {',
      '  %e : ? = Where(%d, %a, %b)',
      '  return %e, %c',
      '}',
    ),
  ],
  [
    'omitted inputs and outputs, several outputs, explicit node names, domains',
    lines(
      'graph m(%x : f32[4,8]) {',
      '  %w : u8[2,1,4] = const [1, 2, 3, 4, 5, 6, 7, 8]',
      '  %s : f32[2,1] = const [0.5, 0.25]',
      '  %y : f32[4,2] = com.microsoft.MatMulNBits(%x, %w, %s, _, _) {K=8, N=2, bits=4, block_size=8}',
      '  %p : ?, %q : ? = Split(%y) {axis=1} @split_0',
      '  %d : ?, _ = Dropout(%p) @drop',
      '  _ = Identity(%q) @Identity',
      '  = Print(%d) @sink',
      '  return %d',
      '}',
    ),
  ],
  [
    'attributes of every kind',
    lines(
      'graph a(%x : f32[1]) {',
      '  %y : ? = Foo(%x) {e=[], f=1.0, fs=[0.1,2.0,nan,inf,-inf,-0.0], i=-7, is=[9007199254740992,-1], n=floats[], s="a\\"b\\\\c\\n\\u0001", ' +
        'ss=["x","y z"], t=tensor<f32[2]: 0.1, -3>, t0=tensor<i64[0]>, tb=tensor<bool[2]: 0, 1>, ts=[tensor<i4[3]: -8, 0, 7>,tensor<str[]: "é">], ' +
        'u=strings[], v=ints[], w=tensors[], x=1e-7, y=1e+21}',
      '  return %y',
      '}',
    ).replace('e=[], ', ''),
  ],
  [
    'constants of every element type',
    lines(
      'graph c() {',
      '  %f16 : f16[3] = const [0.1, 65500, -0.3333]',
      '  %f64 : f64[2] = const [0.1, 0.30000000000000004]',
      '  %i64 : i64[2] = const [9223372036854775807, -9223372036854775808]',
      '  %u64 : u64[1] = const [18446744073709551615]',
      '  %i8 : i8[2] = const [-128, 127]',
      '  %u4 : u4[3] = const [0, 15, 7]',
      '  %b : bool[2] = const [1, 0]',
      '  %s : str[2] = const ["", "tab\\there"]',
      '  %scalar : f32[] = const [-0]',
      '  %empty : f32[0,3] = const []',
      '  return %f16, %empty',
      '}',
    ),
  ],
  [
    'quantization annotations on inputs, constants and node outputs',
    lines(
      'graph q(%x : f32[1,3,4,4] #q<axis=none bits=[4] signed=false range=[0:6.2] scale=[0.413333] zp=[0]>) {',
      '  %w : f32[2,3,1,1] #q<axis=0 bits=[4,3] signed=true range=[-1.5:1.5,-0.123457:0.123457] src="minmax"> = const [1, 2, 3, 4, 5, 6]',
      '  %y : f32[1,2,4,4] #q<axis=1 bits=[0,8]> #one-sided = Conv(%x, %w)',
      '  return %y',
      '}',
    ),
  ],
  [
    'levels that are not powers of two (alloc-bins) beside the container widths',
    lines(
      'graph v(%x : f32[1,2,4,4] #q<axis=1 bits=[3,4] levels=[5,11] signed=false range=[0:2,0:3.5]>) {',
      '  %y : f32[1,2,4,4] = Relu(%x)',
      '  return %y',
      '}',
    ),
  ],
  [
    'a ReLU6 bound (meta.upperBound) beside the one-sided mark, exact',
    lines(
      'graph b(%x : f32[1,2]) {',
      '  %zero : f32[] = const [0]',
      '  %six : f32[] = const [6]',
      '  %c : f32[1,2] #one-sided #upper-bound=6 = Neg(%x)',
      '  %y : f32[1,2] = Clip(%c, %zero, %six)',
      '  return %y',
      '}',
    ),
  ],
  [
    'quoted names and a graph input that is also an initializer',
    lines(
      'graph "my model"(%"in:0" : f32[2], %bias : f32[2]) {',
      '  %bias : f32[2] = const [1, 2]',
      '  %"conv/out:0" : f32[2] = Add(%"in:0", %bias) @"node #1"',
      '  return %"conv/out:0"',
      '}',
    ),
  ],
];

describe('parseGraph', () => {
  it.each(CANONICAL)('round-trips canonical text: %s', (_, text) => {
    const g = parseGraph(text);
    g.verify();
    expect(printGraph(g, { values: 'all' })).toBe(text);
  });

  it('builds the graph the text describes', () => {
    const g = parseGraph(CANONICAL[3][1]);
    const nbits = g.node('y')!;
    expect(nbits.domain).toBe('com.microsoft');
    expect(nbits.opType).toBe('MatMulNBits');
    expect(nbits.inputs.map((v) => v?.name ?? null)).toEqual(['x', 'w', 's', null, null]);
    expect(nbits.getInt('block_size', 0)).toBe(8);
    expect(g.node('split_0')!.outputs.map((v) => v.name)).toEqual(['p', 'q']);
    expect(g.node('drop')!.outputs[1].meta.omittedOutput).toBe(true);
    expect(g.node('sink')!.outputs).toHaveLength(0);
    expect(g.value('w')!.const!.data).toEqual(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(g.outputs.map((v) => v.name)).toEqual(['d']);
  });

  it('reads attribute kinds and exact values', () => {
    const n = parseGraph(CANONICAL[4][1]).node('y')!;
    const kinds = Object.fromEntries([...n.attributes].map(([k, a]) => [k, a.type]));
    expect(kinds).toEqual({
      f: 'float', fs: 'floats', i: 'int', is: 'ints', n: 'floats', s: 'string', ss: 'strings', t: 'tensor', t0: 'tensor', tb: 'tensor',
      ts: 'tensors', u: 'strings', v: 'ints', w: 'tensors', x: 'float', y: 'float',
    });
    expect(n.getAttr('s', 'string')).toBe('a"b\\c\n\u0001');
    expect(Object.is(n.getAttr('fs', 'floats')![5], -0)).toBe(true);
    expect(n.getAttr('fs', 'floats')![2]).toBeNaN();
    const t = n.getAttr('t', 'tensor')!;
    expect(t.dtype).toBe('float32');
    expect(Array.from(t.data as Float32Array)).toEqual([Math.fround(0.1), -3]);
    expect(n.getAttr('ts', 'tensors')![0].nibbles()).toEqual(Int8Array.from([-8, 0, 7]));
  });

  it('keeps int64 values exact and annotations complete', () => {
    const c = parseGraph(CANONICAL[5][1]);
    expect(Array.from(c.value('i64')!.const!.data as BigInt64Array)).toEqual([2n ** 63n - 1n, -(2n ** 63n)]);
    expect((c.value('u64')!.const!.data as BigUint64Array)[0]).toBe(2n ** 64n - 1n);
    const q = parseGraph(CANONICAL[6][1]);
    const w = q.value('w')!.quant!;
    expect(w.axis).toBe(0);
    expect(Array.from(w.bits!)).toEqual([4, 3]);
    expect(Array.from(w.range!.lo)).toEqual([-1.5, -0.123457]);
    expect(w.rangeSource).toBe('minmax');
    expect(q.value('x')!.quant!.axis).toBeNull();
    expect(q.value('y')!.meta.oneSided).toBe(true);
    const shared = parseGraph(CANONICAL.find(([name]) => name.startsWith('quoted names'))![1]);
    expect(shared.inputs[1]).toBe(shared.initializers[0]);
  });

  it('accepts comments, free layout and untyped values', () => {
    const g = parseGraph('// a test graph\ngraph g(%x) {\n  %y = Relu(%x) // rectify\n  %z =\n    Add(%y,\n        %x)\n  return %z\n}');
    expect(g.nodes.map((n) => n.opType)).toEqual(['Relu', 'Add']);
    expect(g.value('y')!.type).toBeUndefined();
    expect(printGraph(g)).toBe(lines('graph g(%x : ?) {', '  %y : ? = Relu(%x)', '  %z : ? = Add(%y, %x)', '  return %z', '}'));
  });

  it('reads back what printGraph writes for a graph built in code', () => {
    const g = parseGraph(CANONICAL[1][1]);
    g.addInitializer('big', Tensor.from('float32', [20], Array.from({ length: 20 }, (_, i) => i / 7)));
    const text = printGraph(g, { values: 'all' });
    const back = parseGraph(text);
    expect(Array.from(back.value('big')!.const!.data as Float32Array)).toEqual(Array.from(g.value('big')!.const!.data as Float32Array));
    expect(printGraph(back, { values: 'all' })).toBe(text);
  });

  const ERRORS: [string, string, string][] = [
    ['graph g() {\n  return %y\n}', '2:10', "value '%y' is used before it is defined"],
    ['graph g(%x : f32[1]) {\n  %y = Relu(%x)\n  %y = Relu(%x)\n  return %y\n}', '3:3', "value '%y' is defined twice"],
    ['graph g(%x : f33[1]) {\n  return\n}', '1:14', "unknown element type 'f33'"],
    ['graph g(%x : f32[1]) {\n  %y = Relu(%x {a=1}\n  return %y\n}', '2:16', "expected ',' or ')'"],
    ['graph g() {\n  %w : f32[2,2] = const <2x2 values>\n  return\n}', '2:25', 'const values are elided'],
    ['graph g() {\n  %w : f32[3] = const [1, 2]\n  return\n}', '2:23', '2 values for shape [3]'],
    ['graph g() {\n  %w : i8[1] = const [200]\n  return\n}', '2:23', '200 is outside the int8 range'],
    ['graph g() {\n  %w : i32[1] = const [1.5]\n  return\n}', '2:24', "'1.5' is not an integer"],
    ['graph g(%x : ?) {\n  %y = F(%x) {a=[1,"b"]}\n  return\n}', '2:17', 'a list mixes'],
    ['graph g(%x : ?) {\n  %y = F(%x) {a=[]}\n  return\n}', '2:17', 'an empty list needs its kind'],
    ['graph g(%x : ?) {\n  %y = F(%x) {a=1, a=2}\n  return\n}', '2:20', "attribute 'a' is given twice"],
    ['graph g(%x : ? #q<axis=1 bitz=[4]>) {\n  return\n}', '1:26', "unknown #q field 'bitz'"],
    ['graph g(%x : ?) {\n  %y = F(%x) {s="abc}\n  return\n}', '2:17', 'unterminated string'],
    ['graph g() {\n  return\n}\nextra', '4:1', "unexpected 'extra' after the graph"],
    ['graph g() {\n  %y = Relu(%x)', '2:16', "expected a statement or 'return'"],
    ['graph g() {\n  %y = Relu(%x)\n  return %y\n}', '2:13', "value '%x' is used before it is defined"],
    ['graph g() {\n', '2:1', "expected a statement or 'return'"],
  ];

  it.each(ERRORS)('reports E_FILE_FORMAT with line:column for %j', (text, where, message) => {
    let err: unknown;
    try {
      parseGraph(text, { file: 'case.ir' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NibbleError);
    expect((err as NibbleError).code).toBe('E_FILE_FORMAT');
    expect((err as NibbleError).message).toContain(`case.ir:${where}: ${message}`);
    expect((err as NibbleError).place.file).toBe('case.ir');
  });
});
