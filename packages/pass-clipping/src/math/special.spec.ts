import { erf, erfc } from './special';

// Reference values of erf/erfc (to 16 significant digits, from standard tables).
const ERF: [number, number][] = [
  [0, 0], [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
  [1.5, 0.9661051464753108], [2, 0.9953222650189527], [2.5, 0.9995930479825550], [3, 0.9999779095030014],
];
const ERFC: [number, number][] = [
  [2, 4.677734981047266e-3], [3, 2.209049699858544e-5], [4, 1.541725790028002e-8],
  [5, 1.537459794428035e-12], [6, 2.151973671249891e-17],
];

describe('erf / erfc', () => {
  it('match tabulated values', () => {
    for (const [x, v] of ERF) {
      expect(Math.abs(erf(x) - v)).toBeLessThan(2e-16 + 1e-15 * v);
      expect(erf(-x)).toBe(-erf(x));
    }
    for (const [x, v] of ERFC) expect(Math.abs(erfc(x) / v - 1)).toBeLessThan(1e-13);
  });

  it('have derivative 2/sqrt(pi) e^{-x^2} on both sides of the series/fraction switch', () => {
    for (const x of [0.3, 1.7, 2.45, 2.5, 2.55, 3.5, 4.5]) {
      const h = 1e-5;
      const d = (erfc(x - h) - erfc(x + h)) / (2 * h);
      const want = (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x);
      expect(Math.abs(d / want - 1)).toBeLessThan(1e-6);
    }
    expect(erf(2.5 - 1e-12)).toBeCloseTo(erf(2.5 + 1e-12), 11);
    expect(erfc(-1)).toBeCloseTo(2 - erfc(1), 15);
    expect(Number.isNaN(erf(NaN))).toBe(true);
  });
});
