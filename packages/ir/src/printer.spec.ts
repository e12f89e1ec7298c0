import { Graph, Tensor, attr, printGraph } from './index';
import { formatFloat, formatType } from './printer';

function convNet(): Graph {
  const g = new Graph('net');
  const x = g.addInput('x', { dtype: 'float32', shape: ['N', 1, 28, 28] });
  const w = g.addInitializer('w1', Tensor.from('float32', [16, 1, 3, 3], new Array(144).fill(0.5)));
  const b = g.addInitializer('b1', Tensor.from('float32', [2], [0.1, -2]));
  const conv = g.addNode({
    opType: 'Conv',
    name: 'conv1',
    inputs: [x, w, b],
    outputs: ['conv1'],
    attributes: { strides: attr.ints([1, 1]), pads: attr.ints([1, 1, 1, 1]) },
  });
  conv.outputs[0].type = { dtype: 'float32', shape: ['N', 16, 28, 28] };
  const split = g.addNode({ opType: 'Split', name: 'split_0', inputs: [conv.outputs[0]], outputs: ['a', 'b'], attributes: { axis: attr.int(1) } });
  const nbits = g.addNode({ opType: 'MatMulNBits', domain: 'com.microsoft', inputs: [split.outputs[0], null, w], outputs: ['m'] });
  g.addOutput(nbits.outputs[0]);
  g.addOutput(split.outputs[1]);
  return g;
}

describe('printGraph', () => {
  it('prints header, initializers, nodes and footer in the documented form', () => {
    expect(printGraph(convNet())).toBe(
      [
        'graph net(%x : f32[N,1,28,28]) {',
        '  %w1 : f32[16,1,3,3] = const <16x1x3x3 values>',
        '  %b1 : f32[2] = const [0.1, -2]',
        '  %conv1 : f32[N,16,28,28] = Conv(%x, %w1, %b1) {pads=[1,1,1,1], strides=[1,1]}',
        '  %a : ?, %b : ? = Split(%conv1) {axis=1} @split_0',
        '  %m : ? = com.microsoft.MatMulNBits(%a, _, %w1) @MatMulNBits',
        '  return %m, %b',
        '}',
        '',
      ].join('\n'),
    );
  });

  it("prints every value with values: 'all' and elides by maxValues otherwise", () => {
    const g = convNet();
    expect(printGraph(g, { values: 'all' })).toContain(`const [${new Array(144).fill('0.5').join(', ')}]`);
    expect(printGraph(g, { maxValues: 1 })).toContain('%b1 : f32[2] = const <2 values>');
  });

  it('prints attributes of every kind, sorted, with floats that read back as floats', () => {
    const g = new Graph('g');
    const x = g.addInput('x');
    g.addNode({
      opType: 'Foo',
      name: 'y',
      inputs: [x],
      outputs: ['y'],
      attributes: {
        z: attr.int(-3),
        alpha: attr.float(1),
        eps: attr.float(Math.fround(1e-5)),
        tiny: attr.float(1e-7),
        third: attr.float(1 / 3),
        bad: attr.float(NaN),
        mode: attr.string('say "hi"\n'),
        fs: attr.floats([0.5, 2, -Infinity]),
        is: attr.ints([]),
        ss: attr.strings(['a', 'b c']),
        t: attr.tensor(Tensor.from('int64', [2], [1, -1])),
        t0: attr.tensor(new Tensor('float32', [0])),
      },
    });
    const line = printGraph(g).split('\n')[1];
    expect(line).toBe(
      '  %y : ? = Foo(%x) {alpha=1.0, bad=nan, eps=0.00001, fs=[0.5,2.0,-inf], is=ints[], mode="say \\"hi\\"\\n", ss=["a","b c"], ' +
        't=tensor<i64[2]: 1, -1>, t0=tensor<f32[0]>, third=0.3333333333333333, tiny=1e-7, z=-3}',
    );
  });

  it('prints types: unknown, unknown rank, symbolic and quoted dims, scalars', () => {
    expect(formatType(undefined)).toBe('?');
    expect(formatType({ dtype: 'uint4' })).toBe('u4[*]');
    expect(formatType({ dtype: 'float16', shape: [] })).toBe('f16[]');
    expect(formatType({ dtype: 'int8', shape: ['batch', null, 3, 'h/2'] })).toBe('i8[batch,?,3,"h/2"]');
  });

  it('prints floats in the shortest form that rounds back at the tensor precision', () => {
    expect(formatFloat(Math.fround(0.1), 32)).toBe('0.1');
    expect(formatFloat(Math.fround(1 / 3), 32)).toBe('0.33333334');
    expect(formatFloat(0.1, 64)).toBe('0.1');
    expect(formatFloat(Math.fround(0.1), 64)).toBe('0.10000000149011612');
    expect(formatFloat(0.0999755859375, 16)).toBe('0.1');
    expect(formatFloat(0.333251953125, 16)).toBe('0.3333');
    expect(formatFloat(-0, 32)).toBe('-0');
    const g = new Graph('g');
    g.addInitializer('h', Tensor.from('float16', [3], [0.1, 65504, -1e-7]));
    g.addInitializer('q', Tensor.from('int4', [3], [-8, 0, 7]));
    g.addInitializer('l', Tensor.from('int64', [1], [BigInt('9007199254740993')]));
    g.addInitializer('s', new Tensor('string', [2], [new TextEncoder().encode('a"b'), new TextEncoder().encode('é')]));
    expect(printGraph(g).split('\n').slice(1, 5)).toEqual([
      '  %h : f16[3] = const [0.1, 65500, -1e-7]',
      '  %q : i4[3] = const [-8, 0, 7]',
      '  %l : i64[1] = const [9007199254740993]',
      '  %s : str[2] = const ["a\\"b", "é"]',
    ]);
  });

  it('prints quantization annotations compactly and the one-sided mark', () => {
    const g = new Graph('g');
    const x = g.addInput('x', { dtype: 'float32', shape: [1, 3] });
    x.quant = {
      axis: 1,
      bits: Int32Array.from([4, 4, 3]),
      signed: false,
      range: { lo: Float64Array.from([0, -1.5, 0]), hi: Float64Array.from([6.123456789, 1.5, 1e-9]) },
      scale: Float64Array.from([0.1, 0.2, 1 / 3]),
      zeroPoint: Int32Array.from([0, 8, 0]),
      rangeSource: 'clip-aciq{dist=laplace}',
    };
    x.meta.oneSided = true;
    g.addOutput(x);
    expect(printGraph(g).split('\n')[0]).toBe(
      'graph g(%x : f32[1,3] #q<axis=1 bits=[4,4,3] signed=false range=[0:6.12346,-1.5:1.5,0:1e-9] ' +
        'scale=[0.1,0.2,0.333333] zp=[0,8,0] src="clip-aciq{dist=laplace}"> #one-sided) {',
    );
    x.quant = { axis: null, bits: new Int32Array(20).fill(4) };
    expect(printGraph(g).split('\n')[0]).toBe('graph g(%x : f32[1,3] #q<axis=none bits=<20 values>> #one-sided) {');
  });

  it('quotes names that are not bare and marks omitted outputs', () => {
    const g = new Graph('my model');
    const x = g.addInput('in:0', { dtype: 'float32', shape: [2] });
    g.addNode({ opType: 'Dropout', name: 'drop', inputs: [x], outputs: ['conv/out', ''] });
    g.addOutput(g.value('conv/out')!);
    expect(printGraph(g)).toBe(
      ['graph "my model"(%"in:0" : f32[2]) {', '  %conv/out : ?, _ = Dropout(%"in:0") @drop', '  return %conv/out', '}', ''].join('\n'),
    );
  });
});
