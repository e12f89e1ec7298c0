import { attr, Graph, type Model, Tensor } from '@nibble/ir';
import { codeEntropyOf } from './code-entropy';

/** One weight as quantize leaves it: DequantizeLinear(codes, scale, zero point){axis=0} with its annotation. */
function weightModel(codes: number[], levels?: number[]): Model {
  const g = new Graph('w');
  const q = g.addInitializer('w_quantized', Tensor.from('int8', [2, 4], codes));
  const scale = g.addInitializer('w_scale', Tensor.from('float32', [2], [0.5, 0.25]));
  const zp = g.addInitializer('w_zero_point', Tensor.from('int8', [2], [0, 0]));
  const dq = g.addNode({ opType: 'DequantizeLinear', name: 'dq', inputs: [q, scale, zp], outputs: ['w'], attributes: { axis: attr.int(0) } });
  const w = dq.outputs[0];
  w.quant = {
    axis: 0, bits: Int32Array.of(3, 3), signed: true, scale: Float64Array.of(0.5, 0.25), zeroPoint: Int32Array.of(0, 0),
    ...(levels ? { levels: Int32Array.from(levels) } : {}),
  };
  g.addOutput(w);
  return { graph: g } as unknown as Model;
}

describe('codeEntropyOf', () => {
  it('weights: Shannon entropy of each channel\'s stored codes, the mean per value, and the mean log2 of the levels', () => {
    // Channel 0 holds four distinct codes once each (2 bits), channel 1 one code (0 bits).
    const e = codeEntropyOf(weightModel([-2, -1, 0, 1, 3, 3, 3, 3], [5, 7]));
    expect(e.perTensor).toHaveLength(1);
    const t = e.perTensor[0];
    expect(t).toMatchObject({ name: 'w', kind: 'weight', values: 8 });
    expect(t.perChannel).toEqual([2, 0]);
    expect(t.meanBits).toBe(1);
    expect(t.log2Levels).toBeCloseTo((Math.log2(5) + Math.log2(7)) / 2, 14);
    expect(e.meanBits.weights).toBe(1);
    // No activations quantized: no activation figure.
    expect(e.meanBits.activations).toBeNull();
  });

  it('without levels the rate is the bit-width', () => {
    const e = codeEntropyOf(weightModel([0, 0, 1, 1, -4, 3, -4, 3]));
    expect(e.perTensor[0].perChannel).toEqual([1, 1]);
    expect(e.meanLog2Levels.weights).toBe(3);
  });
});
