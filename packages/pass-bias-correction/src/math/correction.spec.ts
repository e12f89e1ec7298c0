import { channelMinMax, fakeQuantize, paramsFromRange } from '@nibble/quant';
import { applyCorrection, weightCorrection } from './correction';
import { syntheticWeight } from './synthetic-weight';

function channelMoments(x: ArrayLike<number>, O: number, per: number) {
  const mean = new Float64Array(O);
  const std = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    let s = 0;
    for (let j = 0; j < per; j++) s += x[o * per + j];
    mean[o] = s / per;
    let ss = 0;
    for (let j = 0; j < per; j++) ss += (x[o * per + j] - mean[o]) ** 2;
    std[o] = Math.sqrt(ss / per);
  }
  return { mean, std };
}

describe('weightCorrection', () => {
  const { w, shape, per, O } = syntheticWeight(31);
  const { lo, hi } = channelMinMax(w, shape, 0);
  // 2-3 bits so the quantized channels visibly move their mean and std
  const bits = Int32Array.from({ length: O }, (_, o) => 2 + (o % 2));
  const wq = fakeQuantize(w, shape, paramsFromRange({ lo, hi, bits, axis: 0 }));
  const f = channelMoments(w, O, per);
  const before = channelMoments(wq, O, per);

  it('quantization does move channel means and stds (the thing being corrected)', () => {
    let worst = 0;
    for (let o = 0; o < O; o++) worst = Math.max(worst, Math.abs(before.mean[o] - f.mean[o]) / f.std[o]);
    expect(worst).toBeGreaterThan(1e-3);
  });

  it("mean mode: corrected channel means equal the float means to 1e-6 (both forms, which coincide)", () => {
    const code = applyCorrection(wq, shape, weightCorrection(w, wq, shape, { mode: 'mean' }));
    const paper = applyCorrection(wq, shape, weightCorrection(w, wq, shape, { mode: 'mean', form: 'paper' }));
    const m = channelMoments(code, O, per);
    for (let o = 0; o < O; o++) {
      expect(Math.abs(m.mean[o] - f.mean[o])).toBeLessThan(1e-6 * f.std[o]);
      expect(m.std[o]).toBeCloseTo(before.std[o], 12);
    }
    expect(paper).toEqual(code);
  });

  it('mean-var, code form: corrected means and stds equal the float ones to 1e-6', () => {
    const corr = weightCorrection(w, wq, shape, { mode: 'mean-var' });
    const m = channelMoments(applyCorrection(wq, shape, corr), O, per);
    for (let o = 0; o < O; o++) {
      expect(Math.abs(m.mean[o] - f.mean[o])).toBeLessThan(1e-6 * f.std[o]);
      expect(Math.abs(m.std[o] / f.std[o] - 1)).toBeLessThan(1e-6);
      expect(corr.xi[o]).toBeCloseTo(f.std[o] / before.std[o], 10);
    }
  });

  it('mean-var, paper form: std restored, mean becomes xi * E[W]', () => {
    const corr = weightCorrection(w, wq, shape, { mode: 'mean-var', form: 'paper' });
    const m = channelMoments(applyCorrection(wq, shape, corr), O, per);
    for (let o = 0; o < O; o++) {
      expect(Math.abs(m.std[o] / f.std[o] - 1)).toBeLessThan(1e-6);
      expect(Math.abs(m.mean[o] - corr.xi[o] * f.mean[o])).toBeLessThan(1e-6 * f.std[o]);
    }
  });

  it('a constant quantized channel keeps xi = 1 and gets its mean corrected', () => {
    const p0 = paramsFromRange({ lo, hi, bits: 0, axis: 0, constant: 0 });
    const w0 = fakeQuantize(w, shape, p0);
    const corr = weightCorrection(w, w0, shape, { mode: 'mean-var' });
    expect(Array.from(corr.xi).every((x) => x === 1)).toBe(true);
    const m = channelMoments(applyCorrection(w0, shape, corr), O, per);
    for (let o = 0; o < O; o++) expect(m.mean[o]).toBeCloseTo(f.mean[o], 12);
  });

  it('works along another axis and rejects bad options', () => {
    const t = new Float32Array(w.length);
    // transpose [O, I*9] -> [I*9, O]
    for (let o = 0; o < O; o++) for (let j = 0; j < per; j++) t[j * O + o] = wq[o * per + j];
    const tw = new Float32Array(w.length);
    for (let o = 0; o < O; o++) for (let j = 0; j < per; j++) tw[j * O + o] = w[o * per + j];
    const a = weightCorrection(w, wq, [O, per], { mode: 'mean-var' });
    const b = weightCorrection(tw, t, [per, O], { mode: 'mean-var', axis: 1 });
    for (let o = 0; o < O; o++) {
      expect(b.shift[o]).toBeCloseTo(a.shift[o], 12);
      expect(b.xi[o]).toBeCloseTo(a.xi[o], 12);
    }
    expect(() => weightCorrection(w, wq, shape, { mode: 'median' as never })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => weightCorrection(w, wq.subarray(1), shape)).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
    const bad = Float32Array.from(wq);
    bad[5] = NaN;
    expect(() => weightCorrection(w, bad, shape, { name: 'conv2.w' })).toThrow(expect.objectContaining({ code: 'E_NUMERIC' }));
  });
});
