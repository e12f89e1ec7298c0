import { NibbleError, SeededRandom } from '@nibble/ir';
import { channelGridOf, checkParams, levelRange, paramsFromRange, paramsOfAnnotation, representableRange, withSignedness } from './params';
import { fakeQuantize } from './quantize';
import { toFloat32 } from './rounding';

const fq1 = (x: number, lo: number, hi: number, bits: number, signed = false) =>
  fakeQuantize([x], [1], paramsFromRange({ lo, hi, bits, signed }))[0];

function codeOf(f: () => unknown): string | undefined {
  try { f(); } catch (e) { return (e as NibbleError).code; }
  return undefined;
}

describe('paramsFromRange', () => {
  const rng = new SeededRandom(7);

  it('makes zero exactly representable for any range and bit-width, in both views', () => {
    for (let t = 0; t < 400; t++) {
      const a = rng.normal(0, 3) * 10 ** rng.normal(0, 2);
      const b = rng.normal(0, 3) * 10 ** rng.normal(0, 2);
      const bits = 1 + (t % 16);
      for (const signed of [false, true]) {
        expect(fq1(0, Math.min(a, b), Math.max(a, b), bits, signed)).toBe(0);
      }
    }
  });

  it('symmetric: zero point 0 (signed view), scale max|lo, hi| / (2^(bits-1) - 1); a 0-bit channel only when positive', () => {
    const p = paramsFromRange({ lo: [-0.7, -1, 0], hi: [0.35, 2, 0], bits: [4, 8, 4], axis: 0, signed: true, symmetric: true });
    expect(Array.from(p.zeroPoint)).toEqual([0, 0, 0]);
    expect(Array.from(p.scale)).toEqual([toFloat32(0.7 / 7), toFloat32(2 / 127), 1]);
    expect(Array.from(representableRange(p).hi)).toEqual([toFloat32(7 * toFloat32(0.1)), toFloat32(127 * toFloat32(2 / 127)), 7]);
    expect(paramsFromRange({ lo: -1, hi: 1, bits: 1, signed: true, symmetric: true }).scale[0]).toBe(1);
    expect(paramsFromRange({ lo: 0.5, hi: 0.5, bits: 0, signed: true, symmetric: true }).zeroPoint[0]).toBe(0);
    expect(() => paramsFromRange({ lo: -0.5, hi: -0.5, bits: 0, signed: true, symmetric: true })).toThrow(/no symmetric grid/);
    expect(() => paramsFromRange({ lo: -1, hi: 1, bits: 4, symmetric: true })).toThrow(/symmetric grid is a signed one/);
  });

  it('follows gemmlowp: scale = float32(width / qmax), zp = round(-lo / scale), range widened to hold 0', () => {
    const p = paramsFromRange({ lo: -1, hi: 3, bits: 4 });
    expect(p.scale[0]).toBe(toFloat32(4 / 15));
    expect(p.zeroPoint[0]).toBe(Math.round(1 / toFloat32(4 / 15)));
    const pos = paramsFromRange({ lo: 2, hi: 6, bits: 4 });
    expect(pos.scale[0]).toBe(toFloat32(6 / 15));
    expect(pos.zeroPoint[0]).toBe(0);
    const neg = paramsFromRange({ lo: -6, hi: -2, bits: 4 });
    expect(neg.zeroPoint[0]).toBe(15);
  });

  it('covers the requested range to within half a step and keeps scales float32', () => {
    for (let t = 0; t < 200; t++) {
      const lo = -Math.abs(rng.normal(0, 5));
      const hi = Math.abs(rng.normal(0, 5));
      const bits = 2 + (t % 7);
      const p = paramsFromRange({ lo, hi, bits });
      const r = representableRange(p);
      expect(toFloat32(p.scale[0])).toBe(p.scale[0]);
      expect(Math.abs(r.lo[0] - lo)).toBeLessThanOrEqual(p.scale[0] / 2 + 1e-6 * Math.abs(lo));
      expect(Math.abs(r.hi[0] - hi)).toBeLessThanOrEqual(p.scale[0] / 2 + 1e-6 * Math.abs(hi));
      expect(r.hi[0] - r.lo[0]).toBeCloseTo(hi - lo, 4);
    }
  });

  it('gives an all-equal channel a scale that reproduces its value exactly', () => {
    for (let t = 0; t < 500; t++) {
      const v = toFloat32(rng.normal(0, 1) * 10 ** (rng.uniform() * 12 - 6));
      const bits = 1 + (t % 16);
      for (const signed of [false, true]) expect(fq1(v, v, v, bits, signed)).toBe(v);
    }
    expect(fq1(0, 0, 0, 4)).toBe(0);
    expect(paramsFromRange({ lo: 0, hi: 0, bits: 4 }).scale[0]).toBe(1);
  });

  it('turns a 0-bit channel into a constant: the range midpoint, or the given value', () => {
    const mid = paramsFromRange({ lo: 1, hi: 3, bits: 0 });
    for (const x of [-5, 0, 2, 100]) expect(fakeQuantize([x], [1], mid)[0]).toBe(2);
    const given = paramsFromRange({ lo: -1, hi: 3, bits: 0, constant: -0.3 });
    expect(fakeQuantize([7], [1], given)[0]).toBe(toFloat32(-0.3));
    const zero = paramsFromRange({ lo: -2, hi: 2, bits: 0 });
    expect(fakeQuantize([7], [1], zero)[0]).toBe(0);
    // One level at q = 1 with zero point 0/1/2: fits uint4 as well as int4.
    for (const c of [0.7, 0, -0.7]) {
      for (const signed of [false, true]) {
        const p = paramsFromRange({ lo: 0, hi: 0, bits: 0, constant: c, signed });
        expect(levelRange(0, signed)).toEqual([1, 1]);
        expect(p.zeroPoint[0]).toBeGreaterThanOrEqual(0);
        expect(p.zeroPoint[0]).toBeLessThanOrEqual(2);
      }
    }
  });

  it('rejects bit-widths outside [0, 16] and inverted or non-finite ranges', () => {
    for (const bits of [-1, 17, 2.5, NaN]) expect(codeOf(() => paramsFromRange({ lo: -1, hi: 1, bits }))).toBe('E_BAD_OPTION');
    expect(codeOf(() => paramsFromRange({ lo: 1, hi: -1, bits: 4 }))).toBe('E_NUMERIC');
    expect(codeOf(() => paramsFromRange({ lo: NaN, hi: 1, bits: 4, name: 'conv1.w' }))).toBe('E_NUMERIC');
    expect(codeOf(() => paramsFromRange({ lo: -1e300, hi: 1e300, bits: 4 }))).toBe('E_NUMERIC');
    expect(codeOf(() => paramsFromRange({ lo: [0, 0], hi: [1, 1], bits: 4 }))).toBe('E_SHAPE');
    let err: NibbleError | undefined;
    try { paramsFromRange({ lo: 0, hi: 1, bits: 20, name: 'conv1.w' }); } catch (e) { err = e as NibbleError; }
    expect(err?.place.value).toBe('conv1.w');
    expect(err?.place.option).toBe('bits');
  });

  it('broadcasts scalars over per-channel arrays', () => {
    const p = paramsFromRange({ lo: [-1, -2, -3], hi: 1, bits: [2, 4, 0], axis: 0 });
    expect(Array.from(p.bits)).toEqual([2, 4, 0]);
    expect(p.scale[1]).toBe(toFloat32(3 / 15));
  });
});

describe('channelGridOf', () => {
  it('is the grid paramsFromRange gives one unsigned channel, for ranges, single values, zeros and 0-bit constants', () => {
    const r = new SeededRandom(17);
    const cases: [number, number, number, number | undefined][] = [[0, 0, 4, undefined], [2.5, 2.5, 4, undefined], [-3, -3, 3, undefined], [-1, 1, 0, 0.25], [-1, 1, 0, undefined], [0, 1e-30, 8, undefined]];
    for (let i = 0; i < 500; i++) {
      const lo = r.uniform() < 0.2 ? 0 : -5 * r.uniform();
      const hi = r.uniform() < 0.1 ? lo : lo + 7 * r.uniform();
      cases.push([lo, hi, Math.floor(r.uniform() * 9), r.uniform() < 0.5 ? lo + (hi - lo) * r.uniform() : undefined]);
    }
    for (const [lo, hi, bits, constant] of cases) {
      const p = paramsFromRange({ lo, hi, bits, constant });
      const [qmin, qmax] = levelRange(bits, false);
      expect(channelGridOf(lo, hi, bits, constant)).toEqual({ scale: p.scale[0], zeroPoint: p.zeroPoint[0], qmin, qmax });
    }
    expect(() => channelGridOf(1, 0, 4)).toThrow(NibbleError);
    expect(() => channelGridOf(0, Infinity, 4)).toThrow(NibbleError);
    expect(() => channelGridOf(0, 1, 17)).toThrow(NibbleError);
  });
});

describe('signed view', () => {
  it('moves levels and zero point by 2^(bits-1) and leaves the grid unchanged', () => {
    const u = paramsFromRange({ lo: [-1, -0.2, 0], hi: [1, 2, 0], bits: [4, 3, 0], axis: 0 });
    const s = withSignedness(u, true);
    expect(Array.from(s.zeroPoint)).toEqual([u.zeroPoint[0] - 8, u.zeroPoint[1] - 4, u.zeroPoint[2]]);
    expect(withSignedness(s, false).zeroPoint).toEqual(u.zeroPoint);
    expect(representableRange(s)).toEqual(representableRange(u));
    expect(levelRange(4, true)).toEqual([-8, 7]);
    expect(levelRange(8, true)).toEqual([-128, 127]);
  });
});

describe('checkParams / paramsOfAnnotation', () => {
  it('rejects non-float32 or non-positive scales and missing fields', () => {
    const p = paramsFromRange({ lo: -1, hi: 1, bits: 4 });
    expect(codeOf(() => checkParams({ ...p, scale: new Float64Array([0.1]) }))).toBe('E_NUMERIC');
    expect(codeOf(() => checkParams({ ...p, scale: new Float64Array([-0.5]) }))).toBe('E_NUMERIC');
    expect(codeOf(() => paramsOfAnnotation({ axis: null }))).toBe('E_INVALID_GRAPH');
    expect(paramsOfAnnotation({ axis: null, scale: p.scale, zeroPoint: p.zeroPoint, bits: p.bits }).signed).toBe(false);
  });
});
