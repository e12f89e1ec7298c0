import {
  attr, clearQuantPoint, Graph, markedValues, moveQuantPoint, NibbleError, type QuantPoint, quantPointOf,
  readerBoundsOf, setQuantPoint, Tensor,
} from './index';
import { QUANT_POINT_KEY, targetIncludes } from './quant-point';

const WEIGHT: QuantPoint = { kind: 'weight', bits: 4, perChannel: true, axis: 0, signed: true, role: 'default', layer: 'conv2', op: 'Conv' };
const ACT: QuantPoint = { kind: 'activation', bits: 4, perChannel: true, axis: 1, signed: false, role: 'default', layer: 'conv1', op: 'Conv' };

/** x -> conv1(w1) -> c -> conv2(w2) -> d; nothing marked. */
function twoConvs(): Graph {
  const g = new Graph('g');
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 1, 2, 2] });
  const w1 = g.addInitializer('w1', Tensor.from('float32', [1, 1, 1, 1], [2]));
  const w2 = g.addInitializer('w2', Tensor.from('float32', [1, 1, 1, 1], [3]));
  const pads = { pads: attr.ints([0, 0, 0, 0]) };
  const c = g.addNode({ opType: 'Conv', name: 'conv1', inputs: [x, w1], outputs: ['c'], attributes: pads }).outputs[0];
  const d = g.addNode({ opType: 'Conv', name: 'conv2', inputs: [c, w2], outputs: ['d'], attributes: pads }).outputs[0];
  g.addOutput(d);
  return g;
}

describe('quantization point marks', () => {
  it('reads back what was set, and nothing from an unmarked value', () => {
    const g = twoConvs();
    expect(quantPointOf(g.value('c')!)).toBeUndefined();
    setQuantPoint(g.value('c')!, ACT);
    expect(g.value('c')!.meta[QUANT_POINT_KEY]).toBe(ACT);
    expect(quantPointOf(g.value('c')!)).toEqual(ACT);
  });

  it.each([
    ['is not an object', 7],
    ['has kind tensor', { ...ACT, kind: 'tensor' }],
    ['has bits 9 (0..8 allowed)', { ...ACT, bits: 9 }],
    ['has bits 2.5 (0..8 allowed)', { ...ACT, bits: 2.5 }],
    ['lacks perChannel/signed', { ...ACT, signed: 'no' }],
    ['has axis -1', { ...ACT, axis: -1 }],
    ['has role middle', { ...ACT, role: 'middle' }],
  ])('refuses a mark that %s, naming the value', (why, mark) => {
    const g = twoConvs();
    g.value('c')!.meta[QUANT_POINT_KEY] = mark;
    let err: unknown;
    try {
      quantPointOf(g.value('c')!);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NibbleError);
    expect((err as NibbleError).code).toBe('E_INVALID_GRAPH');
    expect((err as NibbleError).message).toBe(`value 'c': meta.quantPoint ${why}`);
    expect((err as NibbleError).place.value).toBe('c');
    expect((err as NibbleError).hint).toMatch(/quant-policy/);
  });

  it('clears and moves marks', () => {
    const g = twoConvs();
    const c = g.value('c')!;
    const d = g.value('d')!;
    expect(clearQuantPoint(c)).toBe(false);
    setQuantPoint(c, ACT);
    moveQuantPoint(c, d);
    expect(quantPointOf(c)).toBeUndefined();
    expect(quantPointOf(d)).toEqual(ACT);
    moveQuantPoint(c, d);
    expect(quantPointOf(d)).toEqual(ACT);
    expect(clearQuantPoint(d)).toBe(true);
    expect(QUANT_POINT_KEY in d.meta).toBe(false);
  });

  it('lists marked values by target: initializers first, then node outputs in graph order', () => {
    const g = twoConvs();
    setQuantPoint(g.value('d')!, { ...ACT, layer: 'conv2' });
    setQuantPoint(g.value('c')!, ACT);
    setQuantPoint(g.value('w2')!, WEIGHT);
    setQuantPoint(g.value('w1')!, { ...WEIGHT, layer: 'conv1', bits: 8, role: 'first-layer' });
    const names = (t?: 'weights' | 'activations' | 'all') => markedValues(g, t).map((m) => m.value.name);
    expect(names()).toEqual(['w1', 'w2', 'c', 'd']);
    expect(names('weights')).toEqual(['w1', 'w2']);
    expect(names('activations')).toEqual(['c', 'd']);
    expect(markedValues(g, 'weights')[0].point.bits).toBe(8);
    expect([targetIncludes('all', 'weight'), targetIncludes('weights', 'activation'), targetIncludes('activations', 'activation')]).toEqual([true, false, true]);
  });
});

describe('fused-activation marks', () => {
  it('reads oneSided and the upper bound, and rejects a bound that is not a number >= 0 on a one-sided value', () => {
    const c = twoConvs().value('c')!;
    expect(readerBoundsOf(c)).toEqual({ oneSided: false });
    c.meta.oneSided = true;
    expect(readerBoundsOf(c)).toEqual({ oneSided: true });
    c.meta.upperBound = 6;
    expect(readerBoundsOf(c)).toEqual({ oneSided: true, upperBound: 6 });
    for (const bad of [-1, Infinity, '6', null]) {
      c.meta.upperBound = bad;
      expect(() => readerBoundsOf(c)).toThrow(expect.objectContaining({ code: 'E_INVALID_GRAPH', hint: expect.stringContaining('mark-fused-relu') }));
    }
    c.meta.upperBound = 6;
    delete c.meta.oneSided;
    expect(() => readerBoundsOf(c)).toThrow(NibbleError);
  });
});
