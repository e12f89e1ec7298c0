import { SeededRandom } from '@nibble/ir';
import { fixedPointMultiplier, requantizeFixed, requantizeFixedParams, requantizeFloat, requantizeFloatParams } from './requantize';

/** A finite double as n * 2^e exactly (BigInt mantissa). */
function exactOf(x: number): { n: bigint; e: number } {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const hi = dv.getUint32(0);
  const lo = dv.getUint32(4);
  const sign = hi >>> 31 ? -1n : 1n;
  const exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (exp !== 0) mant |= 1n << 52n;
  return { n: sign * mant, e: (exp === 0 ? 1 : exp) - 1075 };
}

/** The exact code round_half_even((acc * sx * sw + bias) / so) and how far t is from a half level (in levels). */
function exactCode(acc: number, sx: number, sw: number, bias: number, so: number): { q: number; tie: number } {
  const x = exactOf(sx), w = exactOf(sw), b = exactOf(bias), s = exactOf(so);
  // numerator = acc * x * w + b as N * 2^e0
  const e0 = Math.min(x.e + w.e, b.e);
  const N = BigInt(acc) * x.n * w.n * (1n << BigInt(x.e + w.e - e0)) + b.n * (1n << BigInt(b.e - e0));
  // t = N * 2^e0 / (s.n * 2^s.e) = P / Q
  const d = e0 - s.e;
  let P = d >= 0 ? N << BigInt(d) : N;
  let Q = d >= 0 ? s.n : s.n << BigInt(-d);
  if (Q < 0n) { P = -P; Q = -Q; }
  let f = P / Q;
  if (P % Q !== 0n && P < 0n) f -= 1n;
  const r = P - f * Q;
  const twice = 2n * r;
  const q = twice < Q ? f : twice > Q ? f + 1n : f % 2n === 0n ? f : f + 1n;
  const tie = Math.abs(Number(twice - Q)) / Number(2n * Q);
  return { q: Number(q), tie };
}

describe('requantize', () => {
  it('fixedPointMultiplier: real = multiplier * 2^-(31 + shift), multiplier in [2^30, 2^31)', () => {
    for (const real of [1, 0.5, 0.75, 1e-6, 3.3e-3, 123.456, 2 ** -20, 0.999999999]) {
      const { multiplier, shift } = fixedPointMultiplier(real);
      expect(multiplier).toBeGreaterThanOrEqual(2 ** 30);
      expect(multiplier).toBeLessThan(2 ** 31);
      expect(Math.abs(multiplier * 2 ** -(31 + shift) - real) / real).toBeLessThanOrEqual(2 ** -31);
    }
    expect(() => fixedPointMultiplier(0)).toThrow(RangeError);
  });

  it('matches exact rational arithmetic on 50k random layers, except counted near-ties', () => {
    const rng = new SeededRandom(12);
    const f32 = Math.fround;
    let floatDiff = 0, fixedDiff = 0, floatTieMax = 0, fixedTieMax = 0, exactTies = 0;
    const N = 50_000;
    for (let i = 0; i < N; i++) {
      const sx = f32(2 ** (-8 + 6 * rng.uniform()));
      const sw = f32(2 ** (-10 + 6 * rng.uniform()));
      const so = f32(2 ** (-6 + 6 * rng.uniform()));
      const bias = f32((rng.uniform() - 0.5) * 4);
      const acc = rng.nextInt(1 << 21) - (1 << 20);
      const exact = exactCode(acc, sx, sw, bias, so);
      if (exact.tie === 0) exactTies++;
      const lo = -(2 ** 40), hi = 2 ** 40;
      const qf = requantizeFloat(acc, requantizeFloatParams(sx, sw, bias, so), 0, lo, hi);
      if (qf !== exact.q) { floatDiff++; floatTieMax = Math.max(floatTieMax, exact.tie); }
      const qi = requantizeFixed(acc, requantizeFixedParams(sx, sw, bias, so), 0, lo, hi);
      if (qi !== exact.q) { fixedDiff++; fixedTieMax = Math.max(fixedTieMax, exact.tie); }
    }
    console.log(`requantize, ${N} random cases: float64 differs from exact on ${floatDiff} (within ${floatTieMax.toExponential(1)} of a half level), fixed point on ${fixedDiff} (within ${fixedTieMax.toExponential(1)}); ${exactTies} exact ties`);
    // float64: only values within ~1e-12 level of a tie may round apart (|t| < 2^30 levels here).
    expect(floatTieMax).toBeLessThan(1e-6);
    expect(floatDiff).toBeLessThanOrEqual(N * 1e-4);
    // Fixed point: the int32 bias rounds at half an accumulator step (|m| * 0.5 levels at most).
    expect(fixedDiff).toBeLessThan(N * 0.02);
  });

  it('clamps to [lo, hi] after adding the zero point', () => {
    const p = requantizeFloatParams(0.5, 0.25, 0, 0.125);
    expect(requantizeFloat(3, p, 2, 0, 15)).toBe(5);
    expect(requantizeFloat(100, p, 2, 0, 15)).toBe(15);
    expect(requantizeFloat(-100, p, 2, 0, 15)).toBe(0);
    // 2.5 levels rounds to even (2), then + zero point.
    expect(requantizeFloat(5, requantizeFloatParams(0.5, 1, 0, 1), 0, 0, 15)).toBe(2);
    const f = requantizeFixedParams(0.5, 0.25, 0, 0.125);
    expect(requantizeFixed(3, f, 2, 0, 15)).toBe(5);
    expect(requantizeFixed(-3, f, 8, 0, 15)).toBe(5);
  });
});
