import { Graph, NibbleError, Tensor, attr, cloneGraph } from './index';

function smallConvNet(): Graph {
  const g = new Graph('net');
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 1, 4, 4] });
  const w = g.addInitializer('w', Tensor.from('float32', [2, 1, 1, 1], [1, -1]));
  const conv = g.addNode({ opType: 'Conv', name: 'conv', inputs: [x, w], outputs: ['c'], attributes: { pads: attr.ints([0, 0, 0, 0]) } });
  const relu = g.addNode({ opType: 'Relu', name: 'relu', inputs: [conv.outputs[0]], outputs: ['y'] });
  g.addOutput(relu.outputs[0]);
  return g;
}

describe('Graph', () => {
  it('keeps use lists in step with node inputs', () => {
    const g = smallConvNet();
    const c = g.value('c')!;
    expect(c.uses.map((u) => u.node.name)).toEqual(['relu']);
    const relu = g.node('relu')!;
    relu.replaceInput(0, g.value('x')!);
    expect(c.uses).toHaveLength(0);
    expect(g.value('x')!.uses.map((u) => u.node.name).sort()).toEqual(['conv', 'relu']);
    g.verify();
  });

  it('replaceAllUsesWith moves graph outputs and keeps the output name', () => {
    const g = smallConvNet();
    const relu = g.node('relu')!;
    const c = relu.input(0);
    relu.outputs[0].replaceAllUsesWith(c);
    g.removeNode(relu);
    expect(g.outputs.map((v) => v.name)).toEqual(['y']);
    expect(g.outputs[0].producer!.name).toBe('conv');
    g.verify();
  });

  it('reports a node reading an undefined value', () => {
    const g = smallConvNet();
    const other = new Graph('other');
    const stray = g.createValue('stray');
    g.node('relu')!.replaceInput(0, stray);
    const err = (() => { try { g.verify(); } catch (e) { return e as NibbleError; } })();
    expect(err).toBeInstanceOf(NibbleError);
    expect(err!.code).toBe('E_UNDEFINED_VALUE');
    expect(err!.place.node).toBe('relu');
    expect(other.nodes).toHaveLength(0);
  });

  it('detects a cycle with a typed error', () => {
    const g = new Graph();
    const x = g.addInput('x');
    const a = g.addNode({ opType: 'Add', name: 'a', inputs: [x, null], outputs: ['av'] });
    const b = g.addNode({ opType: 'Relu', name: 'b', inputs: [a.outputs[0]], outputs: ['bv'] });
    a.replaceInput(1, b.outputs[0]);
    g.addOutput(b.outputs[0]);
    expect(() => g.topologicalSort()).toThrow(expect.objectContaining({ code: 'E_CYCLE' }));
    expect(() => g.verify()).toThrow(expect.objectContaining({ code: 'E_CYCLE' }));
  });

  it('topologicalSort restores execution order after out-of-order insertion', () => {
    const g = new Graph();
    const x = g.addInput('x');
    const relu = g.addNode({ opType: 'Relu', name: 'relu', inputs: [null], outputs: ['r'] });
    const neg = g.addNode({ opType: 'Neg', name: 'neg', inputs: [x], outputs: ['n'] });
    relu.replaceInput(0, neg.outputs[0]);
    g.addOutput(relu.outputs[0]);
    expect(() => g.verify()).toThrow(expect.objectContaining({ code: 'E_UNDEFINED_VALUE' }));
    g.topologicalSort();
    expect(g.nodes.map((n) => n.name)).toEqual(['neg', 'relu']);
    g.verify();
  });

  it('clones structure without sharing nodes or values', () => {
    const g = smallConvNet();
    g.value('c')!.meta.oneSided = true;
    const h = cloneGraph(g);
    h.verify();
    expect(h.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu']);
    expect(h.value('c')).not.toBe(g.value('c'));
    expect(h.value('c')!.meta.oneSided).toBe(true);
    expect(h.value('w')!.const).toBe(g.value('w')!.const);
  });
});

describe('Tensor', () => {
  it('packs int4 two per byte, low nibble first, odd counts padded', () => {
    const t = Tensor.from('int4', [3], [-8, 7, -1]);
    expect(Array.from(t.data as Uint8Array)).toEqual([0x78, 0x0f]);
    expect(Array.from(t.nibbles())).toEqual([-8, 7, -1]);
    const u = Tensor.from('uint4', [2], [15, 1]);
    expect(Array.from(u.data as Uint8Array)).toEqual([0x1f]);
  });

  it('rejects values outside the int4 range', () => {
    expect(() => Tensor.from('int4', [1], [8])).toThrow(expect.objectContaining({ code: 'E_NUMERIC' }));
  });

  it('round-trips float16 through its bits with round half to even', () => {
    const values = [0, -0, 1, -2.5, 65504, 6.103515625e-5, 5.960464477539063e-8, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
    const t = Tensor.from('float16', [values.length], values);
    const back = Array.from(t.toFloat64());
    expect(back.slice(0, 7)).toEqual(values.slice(0, 7));
    expect(back[7]).toBe(1); // halfway between 1 and 1+2^-10 rounds to the even mantissa
    expect(back[8]).toBe(1 + 2 * 2 ** -10);
  });

  it('refuses a shape with more than 2^31-1 elements', () => {
    expect(() => new Tensor('float32', [1 << 20, 1 << 20])).toThrow(expect.objectContaining({ code: 'E_TOO_LARGE' }));
  });
});
