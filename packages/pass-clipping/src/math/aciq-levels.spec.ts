import { NibbleError } from '@nibble/ir';
import { aciqAlpha, aciqAlphaForLevels, aciqMseForLevels, aciqRange } from './aciq';
import { erfc } from './special';

/**
 * Lambert's W (principal branch) by Newton's method in float64: the
 * Laplace stationarity condition 2 e^{-a} = 2a / (3 omega^2) is
 * a e^a = 3 omega^2, so alpha* = W(3 omega^2) in closed form. This is an
 * independent reference for the golden-section table.
 */
function lambertW(z: number): number {
  let w = Math.log(z) - Math.log(Math.log(z));
  for (let i = 0; i < 100; i++) {
    const ew = Math.exp(w);
    const step = (w * ew - z) / (ew * (w + 1));
    w -= step;
    if (Math.abs(step) < 1e-15 * Math.max(1, Math.abs(w))) break;
  }
  return w;
}

// METHOD.md's table at omega = 2^M (Laplace, Gauss), M = 1..8.
const LAPLACE = [1.8628, 2.8307, 3.8972, 5.0286, 6.2048, 7.4131, 8.6456, 9.8968];
const GAUSS = [1.2399, 1.7106, 2.1516, 2.5591, 2.9362, 3.2869, 3.6151, 3.924];

describe('ACIQ alpha for omega bins (not powers of two)', () => {
  it('at omega = 2^M is the M-bit table of METHOD.md', () => {
    for (let m = 1; m <= 8; m++) {
      expect(aciqAlphaForLevels('laplace', 2 ** m).toFixed(4)).toBe(LAPLACE[m - 1].toFixed(4));
      expect(aciqAlphaForLevels('gauss', 2 ** m).toFixed(4)).toBe(GAUSS[m - 1].toFixed(4));
      expect(aciqAlphaForLevels('laplace', 2 ** m)).toBeCloseTo(aciqAlpha('laplace', m), 9);
    }
  });

  it('Laplace: alpha*(omega) = W(3 omega^2), the closed form of 2 e^{-a} = 2a / (3 omega^2)', () => {
    for (const omega of [2, 3, 5, 6, 7, 10, 11, 12, 13, 23, 100, 255, 256, 511]) {
      const want = lambertW(3 * omega * omega);
      expect(Math.abs(aciqAlphaForLevels('laplace', omega) - want)).toBeLessThan(1e-7);
    }
  });

  it('Gauss: solves a erfc(a / sqrt 2) - sqrt(2/pi) e^{-a^2/2} + a / (3 omega^2) = 0', () => {
    for (const omega of [3, 5, 6, 11, 12, 100, 255]) {
      const g = aciqAlphaForLevels('gauss', omega);
      const residual = g * erfc(g / Math.SQRT2) - Math.sqrt(2 / Math.PI) * Math.exp((-g * g) / 2) + g / (3 * omega * omega);
      // Relative to the rounding term (erfc is accurate to about 1e-9 relative, as in the M-bit table's check).
      expect(Math.abs(residual) / (g / (3 * omega * omega))).toBeLessThan(1e-6);
    }
  });

  it('is the minimum of 2 e^{-a} + a^2 / (3 omega^2): nothing on a fine grid around it is lower', () => {
    for (const omega of [3, 6, 13, 200]) {
      const a = aciqAlphaForLevels('laplace', omega);
      const f = (x: number) => 2 * Math.exp(-x) + (x * x) / (3 * omega * omega);
      expect(aciqMseForLevels('laplace', a, 1, omega)).toBeCloseTo(f(a), 14);
      for (let d = -0.5; d <= 0.5; d += 0.01) expect(f(a + d)).toBeGreaterThanOrEqual(f(a) - 1e-15);
    }
  });

  it('grows between the powers of two around it', () => {
    let last = 0;
    for (let omega = 2; omega <= 64; omega++) {
      const a = aciqAlphaForLevels('laplace', omega);
      expect(a).toBeGreaterThan(last);
      last = a;
    }
  });

  it('clips one-sided values at 2 omega: the minimiser of the half-Laplace e^{-a} + a^2 / (12 omega^2)', () => {
    const stats = { mean: 0.5, meanAbsDev: 2, std: 2.5, min: -9, max: 30 };
    for (const omega of [3, 7, 12]) {
      const r = aciqRange(stats, { prior: 'laplace', bits: Math.ceil(Math.log2(omega)), levels: omega, oneSided: true });
      const a = r.alpha / stats.meanAbsDev;
      // d/da of the half-Laplace MSE with omega levels over [0, a]: -e^{-a} + a / (6 omega^2) ... at step a / omega,
      // i.e. the symmetric form at 2 omega bins: e^{-a} = a / (3 (2 omega)^2).
      expect(Math.abs(Math.exp(-a) - a / (3 * 4 * omega * omega))).toBeLessThan(1e-9);
      expect(r.lo).toBe(0);
      expect(r.hi).toBeCloseTo(0.5 + r.alpha, 12);
      const signed = aciqRange(stats, { prior: 'laplace', bits: Math.ceil(Math.log2(omega)), levels: omega });
      expect(signed.alpha / stats.meanAbsDev).toBeCloseTo(aciqAlphaForLevels('laplace', omega), 12);
    }
  });

  it('refuses omega outside [2, 2^17] naming the option', () => {
    for (const bad of [1, 2.5, 2 ** 17 + 1]) {
      try {
        aciqAlphaForLevels('laplace', bad);
        throw new Error('accepted');
      } catch (e) {
        expect(e).toBeInstanceOf(NibbleError);
        expect((e as NibbleError).code).toBe('E_BAD_OPTION');
        expect((e as NibbleError).place.option).toBe('levels');
      }
    }
  });
});
