import { argmax, compareLogits, klDivergence, logSoftmax, sqnrDb } from './agreement';

describe('agreement metrics', () => {
  it('log softmax matches the definition and survives huge logits', () => {
    const row = [1, 2, 3];
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    const want = row.map((v) => Math.log(Math.exp(v) / z));
    logSoftmax(row).forEach((v, i) => expect(v).toBeCloseTo(want[i], 14));
    // Shifting the logits changes nothing; exp(1000) would overflow a naive softmax.
    logSoftmax([1001, 1002, 1003]).forEach((v, i) => expect(v).toBeCloseTo(want[i], 10));
  });

  it('KL divergence of two known two-class distributions', () => {
    // KL([0.5, 0.5] || [0.9, 0.1]) = 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1)
    const want = 0.5 * Math.log(0.5 / 0.9) + 0.5 * Math.log(0.5 / 0.1);
    expect(klDivergence([Math.log(0.5), Math.log(0.5)], [Math.log(0.9), Math.log(0.1)])).toBeCloseTo(want, 14);
    // A zero-probability class of p adds nothing, whatever q says.
    expect(klDivergence([0, -Infinity], [Math.log(0.5), Math.log(0.5)])).toBeCloseTo(Math.log(2), 14);
  });

  it('SQNR in dB: noise at a tenth of the amplitude is 20 dB; no noise is infinite', () => {
    expect(sqnrDb([1, -1, 1, -1], [1.1, -1.1, 0.9, -0.9])).toBeCloseTo(20, 10);
    expect(sqnrDb([1, 2], [1, 2])).toBe(Infinity);
  });

  it('argmax takes the first of equal values', () => {
    expect(argmax([0, 3, 3, 1])).toBe(1);
  });

  it('compares rows: agreement, disagreeing samples, mean and max KL', () => {
    const f = [2, 0, 0, /**/ 0, 1, 0, /**/ 0, 0, 5];
    const q = [2, 0, 0, /**/ 1, 0, 0, /**/ 0, 0, 4];
    const r = compareLogits(f, q, 3);
    expect(r.n).toBe(3);
    expect(r.agree).toBe(2);
    expect(r.disagreements).toEqual([1]);
    const kl1 = klDivergence(logSoftmax([0, 1, 0]), logSoftmax([1, 0, 0]));
    const kl2 = klDivergence(logSoftmax([0, 0, 5]), logSoftmax([0, 0, 4]));
    expect(r.meanKl).toBeCloseTo((0 + kl1 + kl2) / 3, 14);
    expect(r.maxKl).toBeCloseTo(Math.max(kl1, kl2), 14);
    // Logit noise: (1-0)^2 + (0-1)^2 + (5-4)^2 = 3 against a signal of 4 + 1 + 25.
    expect(r.sqnrLogitsDb).toBeCloseTo(10 * Math.log10(30 / 3), 12);
    expect(() => compareLogits([1, 2], [1], 2)).toThrow(/rows of 2 classes/);
  });
});
