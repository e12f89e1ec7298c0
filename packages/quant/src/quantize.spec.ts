import { NibbleError, SeededRandom } from '@nibble/ir';
import { channelMinMax } from './layout';
import { AffineParams, levelRange, paramsFromRange, withSignedness } from './params';
import { dequantize, fakeQuantize, quantizationMse, quantize } from './quantize';
import { toFloat32 } from './rounding';

/** Independent reference: the float32 level nearest to x (brute force over all levels). */
function nearestLevel(x: number, p: AffineParams, c: number): number {
  const [qmin, qmax] = levelRange(p.bits[c], p.signed);
  let best = NaN;
  let bestD = Infinity;
  for (let q = qmin; q <= qmax; q++) {
    const v = toFloat32((q - p.zeroPoint[c]) * p.scale[c]);
    const d = Math.abs(toFloat32(x) - v);
    if (d < bestD) { bestD = d; best = v; }
  }
  return best;
}

describe('quantize / dequantize / fakeQuantize', () => {
  const rng = new SeededRandom(11);

  it('maps every value to its nearest level, per channel along an inner axis', () => {
    const shape = [3, 4, 5];
    const x = Float32Array.from(rng.fill(60, (r) => r.laplace(0, 1)));
    const { lo, hi } = channelMinMax(x, shape, 1);
    // shrink ranges so some values clip
    for (let c = 0; c < 4; c++) { lo[c] *= 0.7; hi[c] *= 0.7; }
    const p = paramsFromRange({ lo, hi, bits: [3, 4, 2, 5], axis: 1 });
    const fq = fakeQuantize(x, shape, p);
    for (let i = 0; i < x.length; i++) {
      const c = Math.floor(i / 5) % 4;
      expect(fq[i]).toBe(nearestLevel(x[i], p, c));
    }
    expect(dequantize(quantize(x, shape, p), shape, p)).toEqual(fq);
  });

  it('gives the same values in the signed view, with levels moved by 2^(bits-1)', () => {
    const shape = [4, 6];
    const x = rng.fill(24, (r) => r.normal(0.3, 1));
    const u = paramsFromRange({ ...channelMinMax(x, shape, 0), bits: [4, 4, 3, 8], axis: 0 });
    const s = withSignedness(u, true);
    const qu = quantize(x, shape, u);
    const qs = quantize(x, shape, s);
    for (let i = 0; i < x.length; i++) expect(qs[i]).toBe(qu[i] - 2 ** (u.bits[Math.floor(i / 6)] - 1));
    expect(fakeQuantize(x, shape, s)).toEqual(fakeQuantize(x, shape, u));
    for (let i = 0; i < 6; i++) expect(qs[i]).toBeGreaterThanOrEqual(-8);
  });

  it('rounds exact ties to even before adding the zero point (ONNX order)', () => {
    const p: AffineParams = { scale: new Float64Array([0.25]), zeroPoint: new Int32Array([0]), bits: new Int32Array([4]), axis: null, signed: false };
    expect(Array.from(quantize([0.125, 0.375, 0.625], [3], p))).toEqual([0, 2, 2]);
    const odd = { ...p, zeroPoint: new Int32Array([1]) };
    // rint(0.5) + 1 = 1, where round(0.5 + 1) would give 2
    expect(Array.from(quantize([0.125, -0.125], [2], odd))).toEqual([1, 1]);
  });

  it('divides in float32 like the runtime, which can move a value across a tie', () => {
    // Search float32 pairs whose float64 quotient sits just below k + 0.5 but
    // whose float32 quotient is the tie itself (or above).
    let found = 0;
    for (let k = 1; k < 4000 && found < 5; k++) {
      const s = toFloat32(0.1 + k * 1e-4);
      const x = toFloat32((k + 0.5) * s);
      const q64 = Math.round(x / s);
      const want = Math.round(toFloat32(x / s)) - (toFloat32(x / s) === k + 0.5 && k % 2 === 0 ? 1 : 0);
      if (q64 === want) continue;
      found++;
      const p: AffineParams = { scale: new Float64Array([s]), zeroPoint: new Int32Array([0]), bits: new Int32Array([16]), axis: null, signed: false };
      expect(quantize([x], [1], p)[0]).toBe(want);
    }
    expect(found).toBeGreaterThan(0);
  });

  it('clamps to the grid and keeps zero exact', () => {
    const p = paramsFromRange({ lo: -1, hi: 1, bits: 4 });
    const fq = fakeQuantize([-100, 100, 0], [3], p);
    expect(fq[0]).toBe(toFloat32(-p.zeroPoint[0] * p.scale[0]));
    expect(fq[1]).toBe(toFloat32((15 - p.zeroPoint[0]) * p.scale[0]));
    expect(fq[2]).toBe(0);
  });

  it('reports NaN/Inf with E_NUMERIC naming the tensor', () => {
    const p = paramsFromRange({ lo: -1, hi: 1, bits: 4 });
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const f of [quantize, fakeQuantize]) {
        let err: NibbleError | undefined;
        try { f([0, bad], [2], p, 'layer3.conv'); } catch (e) { err = e as NibbleError; }
        expect(err?.code).toBe('E_NUMERIC');
        expect(err?.place.value).toBe('layer3.conv');
        expect(err?.message).toMatch(/layer3\.conv: element 1/);
      }
    }
  });

  it('rejects shapes that disagree with the parameters and levels outside a channel', () => {
    const p = paramsFromRange({ lo: [-1, -1], hi: [1, 1], bits: 2, axis: 0 });
    expect(() => quantize(new Float32Array(6), [3, 2], p)).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
    expect(() => quantize(new Float32Array(5), [2, 3], p)).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
    expect(() => dequantize([0, 1, 2, 3, 4, 0], [2, 3], p)).toThrow(expect.objectContaining({ code: 'E_NUMERIC' }));
  });

  it('measures the MSE of a uniform grid near step^2 / 12', () => {
    const x = rng.fill(200000, (r) => r.uniform() * 2 - 1);
    const p = paramsFromRange({ lo: -1, hi: 1, bits: 4 });
    const { mse } = quantizationMse(x, [x.length], p);
    const step = p.scale[0];
    expect(mse / (step * step / 12)).toBeGreaterThan(0.97);
    expect(mse / (step * step / 12)).toBeLessThan(1.08);
  });
});
