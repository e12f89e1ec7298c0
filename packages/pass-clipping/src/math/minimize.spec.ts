import { goldenSection, gridThenGolden } from './minimize';

describe('minimisers', () => {
  it('golden section finds the minimum of a smooth unimodal function to the tolerance', () => {
    const m = goldenSection((x) => (x - Math.PI) ** 2 + 1, -10, 10, 1e-10);
    // f is flat to float64 within ~sqrt(eps) of the minimum: that, not tol, bounds x.
    expect(Math.abs(m.x - Math.PI)).toBeLessThan(5e-8);
    expect(m.fx).toBeCloseTo(1, 12);
  });

  it('grid then golden finds the global minimum of a function with many local minima', () => {
    const f = (x: number) => Math.sin(23 * x) + 2 * (x - 0.6) ** 2;
    let ref = 0;
    for (let i = 0; i <= 1e6; i++) if (f(i / 1e6) < f(ref)) ref = i / 1e6;
    const m = gridThenGolden(f, 0, 1, 60, 1e-10);
    expect(Math.abs(m.x - ref)).toBeLessThan(2e-6);
    const local = goldenSection(f, 0, 1);
    expect(f(local.x)).toBeGreaterThanOrEqual(m.fx - 1e-12);
  });
});
