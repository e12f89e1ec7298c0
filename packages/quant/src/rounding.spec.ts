import { nextFloat32, roundHalfEven, toFloat32 } from './rounding';

describe('roundHalfEven', () => {
  it('sends ties to the even neighbour, in both signs', () => {
    const cases: [number, number][] = [
      [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, 0], [-1.5, -2], [-2.5, -2], [-3.5, -4], [1e15 + 0.5, 1e15],
    ];
    for (const [x, want] of cases) expect(roundHalfEven(x) === want).toBe(true);
  });

  it('rounds non-ties to nearest like Math.round', () => {
    for (const x of [0.49999999999999994, 2.4999999, 2.5000001, -2.5000001, -7.2, 7.8, 0, 123456.7]) {
      expect(roundHalfEven(x)).toBe(Math.round(x));
    }
  });
});

describe('nextFloat32', () => {
  it('steps by one float32 ulp', () => {
    const x = toFloat32(0.1);
    const up = nextFloat32(x, 1);
    const down = nextFloat32(x, -1);
    expect(up).toBeGreaterThan(x);
    expect(down).toBeLessThan(x);
    expect(toFloat32(up)).toBe(up);
    expect(up - x).toBeCloseTo(2 ** -27, 12);
    expect(nextFloat32(-x, 1)).toBe(-down);
    expect(nextFloat32(0, 1)).toBeGreaterThan(0);
  });
});
