import { containerDType, scaleTensor, toIntegerTensor, zeroPointTensor } from './pack';
import { paramsFromRange, withSignedness } from './params';
import { quantize } from './quantize';
import { SeededRandom } from '@nibble/ir';

describe('integer tensors', () => {
  const rng = new SeededRandom(3);
  const shape = [3, 5];
  const x = rng.fill(15, (r) => r.normal(0, 1));

  it('packs 4-bit levels as uint4/int4 and they unpack to the same levels', () => {
    const u = paramsFromRange({ lo: [-2, -1, -3], hi: [2, 1, 3], bits: [4, 3, 2], axis: 0 });
    for (const p of [u, withSignedness(u, true)]) {
      const q = quantize(x, shape, p);
      const t = toIntegerTensor(q, shape, p);
      expect(t.dtype).toBe(p.signed ? 'int4' : 'uint4');
      expect(t.data.length).toBe(8);
      expect(Array.from(t.nibbles())).toEqual(Array.from(q));
      const zp = zeroPointTensor(p);
      expect(zp.shape).toEqual([3]);
      expect(Array.from(zp.nibbles())).toEqual(Array.from(p.zeroPoint));
    }
  });

  it('chooses the narrowest container and refuses one too small', () => {
    const p8 = paramsFromRange({ lo: [-1, -1], hi: [1, 1], bits: [4, 8], axis: 0 });
    expect(containerDType(p8)).toBe('uint8');
    expect(containerDType(withSignedness(p8, true))).toBe('int8');
    expect(containerDType(paramsFromRange({ lo: -1, hi: 1, bits: 12 }))).toBe('uint16');
    const q = quantize([0.5, -0.5], [2, 1], p8);
    expect(toIntegerTensor(q, [2, 1], p8).dtype).toBe('uint8');
    expect(() => toIntegerTensor(q, [2, 1], p8, 'uint4')).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => toIntegerTensor(q, [2, 1], p8, 'int8')).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => toIntegerTensor([300, 0], [2, 1], p8)).toThrow(expect.objectContaining({ code: 'E_NUMERIC' }));
  });

  it('gives per-tensor parameters scalar scale and zero-point tensors', () => {
    const p = paramsFromRange({ lo: -1, hi: 3, bits: 4 });
    expect(scaleTensor(p).shape).toEqual([]);
    expect(scaleTensor(p).toFloat64()[0]).toBe(p.scale[0]);
    expect(zeroPointTensor(p).shape).toEqual([]);
  });

  it('packs 0-bit channels (level 1, zero point 0..2) into uint4', () => {
    const p = paramsFromRange({ lo: [0, 0, -1], hi: [1, 0, 0], bits: 0, axis: 0 });
    const q = quantize([5, 5, 5], [3], p);
    expect(Array.from(toIntegerTensor(q, [3], p).nibbles())).toEqual([1, 1, 1]);
    expect(Array.from(zeroPointTensor(p).nibbles())).toEqual([0, 1, 2]);
  });
});
