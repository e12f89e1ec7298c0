import { layerMultiplier, quantizeMultiplier, requantOffset } from './requant';

/*
 * TFLite 2.9's requantization, modelled here as its kernels compute it
 * (gemmlowp/ruy fixed point: a rounding doubling high multiply, then a
 * rounding right shift with ties upward), against the one-rounding form
 * requant.ts derives: floor((acc + d) * m_q + 1/2), d = 2^30 / M.
 */

/** SaturatingRoundingDoublingHighMul of gemmlowp: round(a * b / 2^31), ties away from zero. */
function highMul(a: number, b: number): bigint {
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return (ab + nudge) / (1n << 31n);
}

/** The x86 kernels' rounding right shift: (x + 2^(e-1)) >> e, ties toward +infinity. */
function shiftRight(x: bigint, e: number): bigint {
  return e > 0 ? (x + (1n << BigInt(e - 1))) >> BigInt(e) : x;
}

function kernel(acc: number, real: number): number {
  const { multiplier, shift } = quantizeMultiplier(real);
  return Number(shiftRight(highMul(acc * 2 ** Math.max(shift, 0), multiplier), Math.max(-shift, 0)));
}

describe('TFLite requantization', () => {
  it('QuantizeMultiplier: a Q31 mantissa in [2^30, 2^31) and an exponent, within 2^-31 of the real multiplier', () => {
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 2 ** 30, shift: 0 });
    expect(quantizeMultiplier(0.25)).toEqual({ multiplier: 2 ** 30, shift: -1 });
    expect(quantizeMultiplier(3)).toEqual({ multiplier: 3 * 2 ** 29, shift: 2 });
    expect(quantizeMultiplier(0)).toEqual({ multiplier: 0, shift: 0 });
    // A mantissa that rounds up to 2^31 moves to the next exponent, as TFLite's does.
    expect(quantizeMultiplier(1 - 2 ** -40)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    for (const real of [0.0468, 0.4161, 0.0019, 3.8, 1e-5]) {
      const { multiplier, shift } = quantizeMultiplier(real);
      expect(multiplier).toBeGreaterThanOrEqual(2 ** 30);
      expect(multiplier).toBeLessThan(2 ** 31);
      expect(Math.abs(multiplier * 2 ** (shift - 31) - real) / real).toBeLessThan(2 ** -30);
    }
  });

  it('the two roundings are one rounding of (acc + 2^30/M) * m_q: an upward offset of up to one accumulator unit', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let checked = 0;
    // Multipliers below 1/2 (a right shift, two roundings); from 1/2 up TFLite rounds once and d is 0.
    expect(requantOffset(0.75)).toBe(0);
    expect(requantOffset(2.5)).toBe(0);
    for (const real of [0.4161, 0.2, 0.0468, 0.0192, 0.0015]) {
      const { multiplier, shift } = quantizeMultiplier(real);
      const mq = multiplier * 2 ** (shift - 31);
      const d = requantOffset(real);
      expect(shift).toBeLessThan(0);
      expect(d).toBeGreaterThan(0.5);
      expect(d).toBeLessThanOrEqual(1);
      for (let i = 0; i < 2000; i++) {
        const acc = Math.round((next() * 2 - 1) * 20000);
        if (kernel(acc, real) === Math.floor((acc + d) * mq + 0.5)) checked++;
      }
    }
    expect(checked).toBe(10000);
  });

  it('without the offset the kernel is above the exact rounding on a fraction of accumulators, never below', () => {
    const real = 0.0468; // the multiplier of fmnist-resnet20 W4A4 s1b1_a_conv, right shift 5
    const mq = (() => { const { multiplier, shift } = quantizeMultiplier(real); return multiplier * 2 ** (shift - 31); })();
    let up = 0;
    for (let acc = 0; acc < 100_000; acc++) {
      const diff = kernel(acc, real) - Math.round(acc * mq);
      expect(diff === 0 || diff === 1).toBe(true);
      up += diff;
    }
    expect(up / 100_000).toBeGreaterThan(0.02);
    expect(up / 100_000).toBeLessThan(0.05);
  });

  it('multipliers as TFLite derives them: conv in double, fully connected from the float32 product', () => {
    const [si, sw, so] = [0.3379640281200409, 0.04374, 0.3157818615436554];
    expect(layerMultiplier(si, sw, so, 'conv')).toBe((Math.fround(si) * Math.fround(sw)) / Math.fround(so));
    expect(layerMultiplier(si, sw, so, 'fc')).toBe(Math.fround(Math.fround(si) * Math.fround(sw)) / Math.fround(so));
  });
});
