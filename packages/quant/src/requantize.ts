import { roundHalfEven } from './rounding';

/*
 * Requantization: an int32 accumulator of a quantized conv (sum of
 * (x - zx) * (w - zw) over the reduction) to the codes of the next grid,
 *
 *   q = clamp(round((acc * sx * sw + bias) / so) + zo, lo, hi)
 *
 * with sx, sw, so float32 scales and bias float32. Defined once here for
 * every integer backend, in two forms:
 *
 *  - float64 (what @nibble/backend-wasm's kernels compute): t = acc * m + c
 *    with m = (sx * sw) / so and c = bias / so folded per output channel
 *    ahead of time, q = round_half_even(t). Each of m, c and t is one
 *    float64 rounding away from exact, so q equals the exact code except
 *    where t lies within ~1e-15 (relative) of a half level.
 *  - fixed point (int32 multiplier and shift, no float, no 64-bit type
 *    needed beyond a 32x32 -> 64 product: WGSL can emulate it): the bias
 *    at the accumulator's scale as an int32, m as multiplier * 2^-(31 + shift),
 *    rounding half away from zero in the shift. It differs from the exact
 *    code where t lies within ~2^-30 * |t| + |bias rounding| of a half
 *    level; requantize.spec.ts counts how often.
 */

/** float64 requantization parameters of one output channel. */
export interface RequantizeFloat {
  m: number;
  c: number;
}

export function requantizeFloatParams(sx: number, sw: number, bias: number, so: number): RequantizeFloat {
  return { m: (sx * sw) / so, c: bias / so };
}

/** clamp(round_half_even(acc * m + c) + zeroPoint, lo, hi). */
export function requantizeFloat(acc: number, p: RequantizeFloat, zeroPoint: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, roundHalfEven(acc * p.m + p.c) + zeroPoint));
}

/** Fixed-point requantization parameters of one output channel. */
export interface RequantizeFixed {
  /** In [2^30, 2^31): the real multiplier sx * sw / so = multiplier * 2^-(31 + shift). */
  multiplier: number;
  shift: number;
  /** The bias at the accumulator's scale sx * sw, rounded half to even (int32). */
  bias: number;
}

/** Multiplier and shift of a positive real scale (frexp: real = f * 2^e with f in [0.5, 1)). */
export function fixedPointMultiplier(real: number): { multiplier: number; shift: number } {
  if (!(real > 0) || !Number.isFinite(real)) throw new RangeError(`requantization scale ${real} is not a positive finite number`);
  let e = Math.floor(Math.log2(real)) + 1;
  let f = real / 2 ** e;
  // log2 can be off by one near powers of two.
  if (f >= 1) { f /= 2; e++; }
  if (f < 0.5) { f *= 2; e--; }
  let multiplier = Math.round(f * 2 ** 31);
  if (multiplier === 2 ** 31) { multiplier /= 2; e++; }
  return { multiplier, shift: -e };
}

export function requantizeFixedParams(sx: number, sw: number, bias: number, so: number): RequantizeFixed {
  const { multiplier, shift } = fixedPointMultiplier((sx * sw) / so);
  return { multiplier, shift, bias: roundHalfEven(bias / (sx * sw)) };
}

/** clamp(((acc + bias) * multiplier) >> (31 + shift), rounded half away from zero, + zeroPoint, lo, hi); exact integer arithmetic. */
export function requantizeFixed(acc: number, p: RequantizeFixed, zeroPoint: number, lo: number, hi: number): number {
  const prod = BigInt(acc + p.bias) * BigInt(p.multiplier);
  const n = BigInt(31 + p.shift);
  const neg = prod < 0n;
  const mag = neg ? -prod : prod;
  let r: bigint;
  if (n > 0n) r = (mag + (1n << (n - 1n))) >> n;
  else r = mag << -n;
  const q = Number(neg ? -r : r);
  return Math.min(hi, Math.max(lo, q + zeroPoint));
}
