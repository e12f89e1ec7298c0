import { SeededRandom, channelMinMax, dequantize, fakeQuantize, paramsFromRange, quantize, toFloat32 } from '@nibble/quant';
import { applyCorrection, weightCorrection } from './correction';
import { syntheticWeight } from './synthetic-weight';
import { biasFromResidual, foldCorrection } from './fold';

describe('foldCorrection', () => {
  const { w, shape, per, O } = syntheticWeight(41);
  const { lo, hi } = channelMinMax(w, shape, 0);
  const params = paramsFromRange({ lo, hi, bits: 3, axis: 0 });
  const q = quantize(w, shape, params);
  const wq = dequantize(q, shape, params);

  const foldedWeights = (f: ReturnType<typeof foldCorrection>) => {
    const d = dequantize(q, shape, f.params);
    return Float64Array.from(d, (v, i) => v + f.residual[Math.floor(i / per)]);
  };

  for (const mode of ['mean', 'mean-var'] as const) {
    it(`${mode}: new scale and zero point plus a residual reproduce the corrected weights`, () => {
      const corr = weightCorrection(w, wq, shape, { mode });
      const want = applyCorrection(wq, shape, corr);
      const f = foldCorrection(q, shape, params, corr);
      const got = foldedWeights(f);
      // equal up to float32 rounding (of the dequantized values and of xi * scale),
      // which the residual averages over the channel: bound by the channel's magnitude
      for (let o = 0; o < O; o++) {
        let big = Math.abs(f.residual[o]);
        let worst = 0;
        for (let j = 0; j < per; j++) {
          const i = o * per + j;
          big = Math.max(big, Math.abs(want[i]), Math.abs(got[i] - f.residual[o]));
          worst = Math.max(worst, Math.abs(got[i] - want[i]));
        }
        expect(worst).toBeLessThan(2 ** -21 * big);
      }
      for (let o = 0; o < O; o++) {
        let a = 0, b = 0;
        for (let j = 0; j < per; j++) { a += got[o * per + j]; b += w[o * per + j]; }
        expect(Math.abs(a - b) / per).toBeLessThan(1e-12);
        expect(Math.abs(f.residual[o])).toBeLessThanOrEqual(f.params.scale[o] / 2 + 1e-9);
        expect(f.params.scale[o]).toBe(toFloat32(corr.xi[o] * params.scale[o]));
      }
    });
  }

  it('is exact on the grid when the shift is a whole number of steps', () => {
    const corr = weightCorrection(w, wq, shape, { mode: 'mean' });
    for (let o = 0; o < O; o++) corr.shift[o] = (o % 3) * params.scale[o];
    const f = foldCorrection(q, shape, params, corr);
    for (let o = 0; o < O; o++) {
      expect(f.zeroPointShift[o]).toBe(o % 3);
      // only the float32 rounding of individual weights is left over
      expect(Math.abs(f.residual[o])).toBeLessThan(1e-6 * params.scale[o]);
    }
    // no bias term needed: the folded grid alone gives xi*(q - zp)*s + shift
    const d = dequantize(q, shape, f.params);
    for (let i = 0; i < d.length; i++) {
      const o = Math.floor(i / per);
      expect(d[i]).toBe(toFloat32((q[i] - params.zeroPoint[o] + (o % 3)) * params.scale[o]));
    }
  });

  it('keeps new zero points inside the container and leaves the rest in the residual', () => {
    const corr = weightCorrection(w, wq, shape, { mode: 'mean' });
    corr.shift[0] = 40 * params.scale[0];
    const f = foldCorrection(q, shape, params, corr, { zeroPointRange: [0, 15] });
    expect(f.params.zeroPoint[0]).toBe(0);
    expect(f.residual[0]).toBeCloseTo((40 - params.zeroPoint[0]) * params.scale[0], 6);
    const none = foldCorrection(q, shape, params, corr, { shiftZeroPoint: false });
    expect(Array.from(none.zeroPointShift).every((k) => k === 0)).toBe(true);
  });

  it('rejects per-tensor weights', () => {
    const pt = paramsFromRange({ lo: -1, hi: 1, bits: 4 });
    const corr = weightCorrection(w, fakeQuantize(w, shape, pt), shape);
    expect(() => foldCorrection(quantize(w, shape, pt), shape, pt, corr)).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
  });
});

describe('biasFromResidual (the expectation fold)', () => {
  it('is right on average over inputs, and its per-sample error is r * sum(x - E[x])', () => {
    const { w, shape, per, O } = syntheticWeight(51, 8, 4);
    const params = paramsFromRange({ ...channelMinMax(w, shape, 0), bits: 2, axis: 0 });
    const q = quantize(w, shape, params);
    const wq = dequantize(q, shape, params);
    const corr = weightCorrection(w, wq, shape, { mode: 'mean-var' });
    const corrected = applyCorrection(wq, shape, corr);
    const f = foldCorrection(q, shape, params, corr, { shiftZeroPoint: false });
    const folded = dequantize(q, shape, f.params);
    const mu = [0.5, 1.5, 0.2, 3];
    const sigma = [0.3, 1, 0.1, 2];
    const delta = biasFromResidual(f.residual, shape, mu);
    const r = new SeededRandom(52);
    const N = 5000;
    // one set of receptive-field samples, shared by every output channel
    const xs = new Float64Array(N * per);
    const dev = new Float64Array(N);
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < per; j++) {
        const ic = Math.floor(j / 9);
        xs[n * per + j] = r.normal(mu[ic], sigma[ic]);
        dev[n] += xs[n * per + j] - mu[ic];
      }
    }
    let worstIdentity = 0;
    for (let o = 0; o < O; o++) {
      let sum = 0, sum2 = 0, unfolded = 0;
      for (let n = 0; n < N; n++) {
        let yc = 0, yf = 0;
        for (let j = 0; j < per; j++) {
          yc += corrected[o * per + j] * xs[n * per + j];
          yf += folded[o * per + j] * xs[n * per + j];
        }
        const err = yf + delta[o] - yc;
        // the folded output misses r * sum(x - E[x]) of the true one
        worstIdentity = Math.max(worstIdentity, Math.abs(err + f.residual[o] * dev[n]));
        sum += err;
        sum2 += err * err;
        unfolded += yf - yc;
      }
      const mean = sum / N;
      const sd = Math.sqrt(sum2 / N - mean * mean);
      expect(Math.abs(mean)).toBeLessThan((5 * sd) / Math.sqrt(N) + 1e-12);
      // without the bias term the output would be short by r * 9 * sum(mu) on average
      const bias = -f.residual[o] * 9 * (0.5 + 1.5 + 0.2 + 3);
      expect(Math.abs(unfolded / N - bias)).toBeLessThan((5 * sd) / Math.sqrt(N) + 1e-12);
      expect(Math.abs(bias)).toBeGreaterThan((10 * sd) / Math.sqrt(N));
    }
    expect(worstIdentity).toBeLessThan(1e-7);
  });

  it('sums only the inputs of the channel group', () => {
    // depthwise: 4 groups of 1 input channel each, 2 outputs per group, 3x3 kernel
    const d = biasFromResidual([1, 1, 2, 2, 1, 1, 1, 1], [8, 1, 3, 3], [1, 2, 3, 4], 4);
    expect(Array.from(d)).toEqual([9, 9, 36, 36, 27, 27, 36, 36]);
    expect(() => biasFromResidual([1, 2], [2, 3], [1, 2], 1)).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
  });
});
