import { NibbleError } from '@nibble/ir';
import { containerDType, toIntegerTensor } from './pack';
import { bitsForLevels, checkParams, levelCount, levelRange, paramsFromRange, representableRange, withSignedness } from './params';
import { dequantize, quantize } from './quantize';

/*
 * Grids of a number of levels that is not a power of two (alloc-bins' omega
 * bins): `levels` beside `bits`, the container width. Checked against a
 * float64 reference quantizer written here from the definition: omega
 * levels, the first on lo and the last on hi, step (hi - lo) / (omega - 1).
 */

function reference(x: number, lo: number, hi: number, omega: number): number {
  const step = (hi - lo) / (omega - 1);
  const k = Math.min(omega - 1, Math.max(0, Math.round((x - lo) / step)));
  return lo + k * step;
}

describe('grids of levels that are not powers of two', () => {
  it('levelRange and levelCount: omega codes from the bottom of the container, 2^bits without levels', () => {
    // + 0: the unsigned view's lower end is -0 (minus an offset of 0).
    expect(levelRange(3, false, 5).map((x) => x + 0)).toEqual([0, 4]);
    expect(levelRange(3, true, 5)).toEqual([-4, 0]);
    expect(levelRange(3, false).map((x) => x + 0)).toEqual([0, 7]);
    expect(levelCount({ bits: Int32Array.of(3, 0), levels: undefined }, 0)).toBe(8);
    expect(levelCount({ bits: Int32Array.of(3, 0), levels: undefined }, 1)).toBe(1);
    expect(levelCount({ bits: Int32Array.of(3), levels: Int32Array.of(6) }, 0)).toBe(6);
    expect([1, 2, 3, 4, 5, 8, 9, 16, 17, 256].map(bitsForLevels)).toEqual([0, 1, 2, 2, 3, 3, 4, 4, 5, 8]);
  });

  it('paramsFromRange with levels: step (hi - lo) / (omega - 1), zero exact, values as the float64 reference', () => {
    // Zero lies on a level of both grids: -1.5 + 3 * 0.5 and -2 + 5 * (4 / 10).
    for (const [lo, hi, omega] of [[-1.5, 1.5, 7], [-2, 2, 11]] as const) {
      const p = paramsFromRange({ lo, hi, bits: bitsForLevels(omega), levels: omega, signed: true });
      expect(p.levels).toEqual(Int32Array.of(omega));
      expect(p.scale[0]).toBeCloseTo((hi - lo) / (omega - 1), 6);
      // Off the midpoints between levels, where the reference's Math.round and the quantizer's half-to-even differ.
      const xs = Array.from({ length: 301 }, (_, i) => -3 + (6 * i) / 300 + 0.0013);
      const q = quantize(xs, [xs.length], p);
      const back = dequantize(q, [xs.length], p);
      xs.forEach((x, i) => expect(back[i]).toBeCloseTo(reference(x, lo, hi, omega), 5));
      const [qmin, qmax] = levelRange(p.bits[0], true, omega);
      expect(Math.min(...q)).toBe(qmin);
      expect(Math.max(...q)).toBe(qmax);
      expect(dequantize(quantize([0], [1], p), [1], p)[0]).toBe(0);
      const r = representableRange(p);
      expect(r.lo[0]).toBeCloseTo(lo, 6);
      expect(r.hi[0]).toBeCloseTo(hi, 6);
    }
  });

  it('keeps levels through the signedness views and fits the smallest container', () => {
    const p = paramsFromRange({ lo: [-1, 0], hi: [1, 3], bits: [4, 3], levels: [11, 6], axis: 0, signed: false });
    const s = withSignedness(p, true);
    expect(s.levels).toBe(p.levels);
    const [rs, rp] = [representableRange(s), representableRange(p)];
    expect(Array.from(rs.lo, (x) => x + 0)).toEqual(Array.from(rp.lo, (x) => x + 0));
    expect(Array.from(rs.hi)).toEqual(Array.from(rp.hi));
    expect(containerDType(s)).toBe('int4');
    const q = quantize([-1, 0, 1, 3, 0, 9], [2, 3], s);
    expect(toIntegerTensor(q, [2, 3], s).dtype).toBe('int4');
  });

  it('refuses levels that do not fit their bits, and symmetric grids of levels, naming the option', () => {
    const code = (f: () => unknown): string | undefined => {
      try { f(); } catch (e) { return e instanceof NibbleError ? `${e.code}:${String(e.place.option)}` : 'other'; }
      return undefined;
    };
    expect(code(() => paramsFromRange({ lo: -1, hi: 1, bits: 3, levels: 9 }))).toBe('E_BAD_OPTION:levels');
    expect(code(() => paramsFromRange({ lo: -1, hi: 1, bits: 3, levels: 1 }))).toBe('E_BAD_OPTION:levels');
    expect(code(() => paramsFromRange({ lo: -1, hi: 1, bits: 0, levels: 2 }))).toBe('E_BAD_OPTION:levels');
    expect(code(() => paramsFromRange({ lo: -1, hi: 1, bits: 3, levels: 5, signed: true, symmetric: true }))).toBe('E_UNSUPPORTED:symmetric');
    const p = paramsFromRange({ lo: -1, hi: 1, bits: 3, levels: 5 });
    expect(code(() => checkParams({ ...p, levels: Int32Array.of(5, 5) }))).toBe('E_SHAPE:undefined');
  });
});
