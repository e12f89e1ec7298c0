import { stepKeys } from './plan';

/*
 * IEEE 754 binary64 in WGSL, which has no float64: a double is the
 * vec2<u32>(low word, high word) of its bits, and add and multiply are done
 * with 32-bit integer arithmetic, rounding to nearest, ties to even, with
 * subnormals, infinities and signed zeros as IEEE defines them (NaN results
 * are the one quiet NaN 0x7ff8000000000000: no payloads). The algorithms are
 * those of the standard soft-float construction (significand with 10 extra
 * bits below the rounding point, sticky right shifts, one round-and-pack).
 *
 * Why: the `sim` target's convs sum several float64 terms per output (one
 * per input-channel segment of equal scale, the bias-correction shift, the
 * products of a float input), and the WebAssembly backend's codes depend on
 * the last bit of that sum. With exact add and multiply the GPU performs the
 * wasm kernel's float64 operations one by one, in its order, and gets its
 * bits. Division is never needed on the GPU: a QuantizeLinear of a float64
 * value is a monotone function of it, so it becomes thresholds found on the
 * host (f64Thresholds) and compared in the shader as ordered 64-bit keys.
 */

/** WGSL: u64 helpers on vec2<u32>(lo, hi), f64Add, f64Mul, f64FromI32, f64FromF32Bits, f64Key. */
export const F64_WGSL = `
const F64_NAN = vec2<u32>(0u, 0x7FF80000u);
fn u64Add(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}
fn u64Sub(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}
fn u64Lt(a: vec2<u32>, b: vec2<u32>) -> bool { return a.y < b.y || (a.y == b.y && a.x < b.x); }
fn u64Zero(a: vec2<u32>) -> bool { return (a.x | a.y) == 0u; }
// WGSL takes a runtime shift amount modulo 32, so the cases of 0, 32.. and 64.. bits are spelled out.
fn u64Shl(a: vec2<u32>, n: u32) -> vec2<u32> {
  if (n == 0u) { return a; }
  if (n >= 64u) { return vec2<u32>(0u, 0u); }
  if (n >= 32u) { return vec2<u32>(0u, a.x << (n - 32u)); }
  return vec2<u32>(a.x << n, (a.y << n) | (a.x >> (32u - n)));
}
// Right shift that ORs every bit shifted out into bit 0 (the sticky bit rounding needs).
fn u64ShrJam(a: vec2<u32>, n: u32) -> vec2<u32> {
  if (n == 0u) { return a; }
  if (n >= 64u) { return vec2<u32>(select(0u, 1u, !u64Zero(a)), 0u); }
  var r: vec2<u32>;
  var lost: bool;
  if (n > 32u) {
    r = vec2<u32>(a.y >> (n - 32u), 0u);
    lost = a.x != 0u || (a.y << (64u - n)) != 0u;
  } else if (n == 32u) {
    r = vec2<u32>(a.y, 0u);
    lost = a.x != 0u;
  } else {
    r = vec2<u32>((a.x >> n) | (a.y << (32u - n)), a.y >> n);
    lost = (a.x << (32u - n)) != 0u;
  }
  return vec2<u32>(r.x | select(0u, 1u, lost), r.y);
}
fn u64Clz(a: vec2<u32>) -> u32 {
  if (a.y != 0u) { return countLeadingZeros(a.y); }
  return 32u + countLeadingZeros(a.x);
}
fn mul32(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xFFFFu;
  let a1 = a >> 16u;
  let b0 = b & 0xFFFFu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let mid = p01 + a1 * b0;
  let lo = p00 + (mid << 16u);
  return vec2<u32>(lo, a1 * b1 + (mid >> 16u) + select(0u, 0x10000u, mid < p01) + select(0u, 1u, lo < p00));
}
fn f64Pack(sign: u32, e: i32, sig: vec2<u32>) -> vec2<u32> {
  // An addition, as in soft-float: the significand's leading bit (bit 52) carries into the exponent.
  return vec2<u32>(sig.x, ((sign << 31u) | 0u) + (u32(e) << 20u) + sig.y);
}
fn f64Inf(sign: u32) -> vec2<u32> { return vec2<u32>(0u, (sign << 31u) | 0x7FF00000u); }
// sig: the leading bit at 62, 10 bits below the last kept bit; e one less than the biased exponent.
fn f64RoundPack(sign: u32, e0: i32, sig0: vec2<u32>) -> vec2<u32> {
  var e = e0;
  var sig = sig0;
  var roundBits = sig.x & 0x3FFu;
  if (e < 0 || e >= 0x7FD) {
    if (e < 0) {
      sig = u64ShrJam(sig, u32(-e));
      e = 0;
      roundBits = sig.x & 0x3FFu;
    } else if (e > 0x7FD || !u64Lt(u64Add(sig, vec2<u32>(0x200u, 0u)), vec2<u32>(0u, 0x80000000u))) {
      return f64Inf(sign);
    }
  }
  sig = u64Add(sig, vec2<u32>(0x200u, 0u));
  sig = vec2<u32>((sig.x >> 10u) | (sig.y << 22u), sig.y >> 10u);
  if (roundBits == 0x200u) { sig.x = sig.x & ~1u; }
  return f64Pack(sign, e, sig);
}
fn f64NormRoundPack(sign: u32, e: i32, sig: vec2<u32>) -> vec2<u32> {
  let shift = i32(u64Clz(sig)) - 1;
  let ez = e - shift;
  if (shift >= 10 && ez >= 0 && ez < 0x7FD) {
    return f64Pack(sign, select(0, ez, !u64Zero(sig)), u64Shl(sig, u32(shift - 10)));
  }
  return f64RoundPack(sign, ez, u64Shl(sig, u32(shift)));
}
fn f64Exp(a: vec2<u32>) -> i32 { return i32((a.y >> 20u) & 0x7FFu); }
fn f64Frac(a: vec2<u32>) -> vec2<u32> { return vec2<u32>(a.x, a.y & 0xFFFFFu); }
fn f64AddMags(a: vec2<u32>, b: vec2<u32>, sign: u32) -> vec2<u32> {
  let ea = f64Exp(a);
  let eb = f64Exp(b);
  let fa = f64Frac(a);
  let fb = f64Frac(b);
  let d = ea - eb;
  var ez: i32;
  var sig: vec2<u32>;
  if (d == 0) {
    if (ea == 0) { return u64Add(a, fb); }
    if (ea == 0x7FF) {
      if (!u64Zero(fa) || !u64Zero(fb)) { return F64_NAN; }
      return a;
    }
    ez = ea;
    sig = u64Shl(u64Add(vec2<u32>(0u, 0x200000u), u64Add(fa, fb)), 9u);
  } else {
    var sa = u64Shl(fa, 9u);
    var sb = u64Shl(fb, 9u);
    if (d < 0) {
      if (eb == 0x7FF) { return select(F64_NAN, f64Inf(sign), u64Zero(fb)); }
      ez = eb;
      sa = select(u64Add(sa, sa), u64Add(sa, vec2<u32>(0u, 0x20000000u)), ea != 0);
      sa = u64ShrJam(sa, u32(-d));
    } else {
      if (ea == 0x7FF) { return select(F64_NAN, f64Inf(sign), u64Zero(fa)); }
      ez = ea;
      sb = select(u64Add(sb, sb), u64Add(sb, vec2<u32>(0u, 0x20000000u)), eb != 0);
      sb = u64ShrJam(sb, u32(d));
    }
    sig = u64Add(vec2<u32>(0u, 0x20000000u), u64Add(sa, sb));
    if (sig.y < 0x40000000u) {
      ez -= 1;
      sig = u64Shl(sig, 1u);
    }
  }
  return f64RoundPack(sign, ez, sig);
}
fn f64SubMags(a: vec2<u32>, b: vec2<u32>, sign0: u32) -> vec2<u32> {
  var sign = sign0;
  let ea = f64Exp(a);
  let eb = f64Exp(b);
  let fa = f64Frac(a);
  let fb = f64Frac(b);
  let d = ea - eb;
  if (d == 0) {
    if (ea == 0x7FF) { return F64_NAN; }
    if (fa.x == fb.x && fa.y == fb.y) { return vec2<u32>(0u, 0u); }
    let e = select(ea, ea - 1, ea != 0);
    var diff = u64Sub(fa, fb);
    if (u64Lt(fa, fb)) {
      sign ^= 1u;
      diff = u64Sub(fb, fa);
    }
    var shift = i32(u64Clz(diff)) - 11;
    var ez = e - shift;
    if (ez < 0) {
      shift = e;
      ez = 0;
    }
    return f64Pack(sign, ez, u64Shl(diff, u32(shift)));
  }
  var sa = u64Shl(fa, 10u);
  var sb = u64Shl(fb, 10u);
  var ez: i32;
  var sig: vec2<u32>;
  if (d < 0) {
    sign ^= 1u;
    if (eb == 0x7FF) { return select(F64_NAN, f64Inf(sign), u64Zero(fb)); }
    sa = select(u64Add(sa, sa), u64Add(sa, vec2<u32>(0u, 0x40000000u)), ea != 0);
    sa = u64ShrJam(sa, u32(-d));
    sb.y |= 0x40000000u;
    ez = eb;
    sig = u64Sub(sb, sa);
  } else {
    if (ea == 0x7FF) { return select(F64_NAN, a, u64Zero(fa)); }
    sb = select(u64Add(sb, sb), u64Add(sb, vec2<u32>(0u, 0x40000000u)), eb != 0);
    sb = u64ShrJam(sb, u32(d));
    sa.y |= 0x40000000u;
    ez = ea;
    sig = u64Sub(sa, sb);
  }
  return f64NormRoundPack(sign, ez - 1, sig);
}
fn f64Add(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let sa = a.y >> 31u;
  if (sa == (b.y >> 31u)) { return f64AddMags(a, b, sa); }
  return f64SubMags(a, b, sa);
}
fn f64Mul(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let sign = (a.y ^ b.y) >> 31u;
  var ea = f64Exp(a);
  var eb = f64Exp(b);
  var fa = f64Frac(a);
  var fb = f64Frac(b);
  if (ea == 0x7FF || eb == 0x7FF) {
    if ((ea == 0x7FF && !u64Zero(fa)) || (eb == 0x7FF && !u64Zero(fb))) { return F64_NAN; }
    if ((ea == 0 && u64Zero(fa)) || (eb == 0 && u64Zero(fb))) { return F64_NAN; }
    return f64Inf(sign);
  }
  if (ea == 0) {
    if (u64Zero(fa)) { return vec2<u32>(0u, sign << 31u); }
    let s = u64Clz(fa) - 11u;
    fa = u64Shl(fa, s);
    ea = 1 - i32(s);
  }
  if (eb == 0) {
    if (u64Zero(fb)) { return vec2<u32>(0u, sign << 31u); }
    let s = u64Clz(fb) - 11u;
    fb = u64Shl(fb, s);
    eb = 1 - i32(s);
  }
  var ez = ea + eb - 0x3FF;
  let x = u64Shl(vec2<u32>(fa.x, fa.y | 0x100000u), 10u);
  let y = u64Shl(vec2<u32>(fb.x, fb.y | 0x100000u), 11u);
  // The 128-bit product's high 64 bits, the low 64 folded into the sticky bit.
  let ll = mul32(x.x, y.x);
  let lh = mul32(x.x, y.y);
  let hl = mul32(x.y, y.x);
  let mid = u64Add(u64Add(vec2<u32>(ll.y, 0u), vec2<u32>(lh.x, 0u)), vec2<u32>(hl.x, 0u));
  var hi = u64Add(u64Add(u64Add(mul32(x.y, y.y), vec2<u32>(lh.y, 0u)), vec2<u32>(hl.y, 0u)), vec2<u32>(mid.y, 0u));
  hi.x |= select(0u, 1u, (ll.x | mid.x) != 0u);
  if (hi.y < 0x40000000u) {
    ez -= 1;
    hi = u64Shl(hi, 1u);
  }
  return f64RoundPack(sign, ez, hi);
}
fn f64FromI32(v: i32) -> vec2<u32> {
  if (v == 0) { return vec2<u32>(0u, 0u); }
  let bits = bitcast<u32>(v);
  let mag = select(bits, 0u - bits, v < 0);
  let lz = countLeadingZeros(mag);
  return f64Pack(select(0u, 1u, v < 0), 1053 - i32(lz), u64Shl(vec2<u32>(mag, 0u), 21u + lz));
}
// A float32 given by its bits (read as u32, so no adapter can flush a subnormal on the way).
fn f64FromF32Bits(u: u32) -> vec2<u32> {
  let sign = u & 0x80000000u;
  var e = i32((u >> 23u) & 0xFFu);
  var m = u & 0x7FFFFFu;
  if (e == 0xFF) { return vec2<u32>(m << 29u, sign | 0x7FF00000u | (m >> 3u)); }
  if (e == 0) {
    if (m == 0u) { return vec2<u32>(0u, sign); }
    let s = countLeadingZeros(m) - 8u;
    m = (m << s) & 0x7FFFFFu;
    e = 1 - i32(s);
  }
  return vec2<u32>(m << 29u, sign | (u32(e + 896) << 20u) | (m >> 3u));
}
// Unsigned 64-bit keys in the order of the doubles (-0 just below +0; NaNs beyond the infinities).
fn f64Key(a: vec2<u32>) -> vec2<u32> {
  if ((a.y >> 31u) != 0u) { return ~a; }
  return vec2<u32>(a.x, a.y | 0x80000000u);
}
`;

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);
const SIGN = 1n << 63n;
const ALL = (1n << 64n) - 1n;

/** The ordered key of a double (f64Key in WGSL). */
export function keyOfF64(v: number): bigint {
  F64[0] = v;
  const b = U64[0];
  return b & SIGN ? ALL ^ b : b | SIGN;
}

/** The double of an ordered key. */
export function f64OfKey(k: bigint): number {
  U64[0] = k & SIGN ? k ^ SIGN : ALL ^ k;
  return F64[0];
}

/**
 * Thresholds of a non-decreasing code function of a double, as ordered keys:
 * code(v) = base + #{t <= key(v)}, each found by bisection over every double
 * from -inf to +inf (NaNs excluded), so exact for all of them.
 */
export function f64Thresholds(code: (v: number) => number): { base: number; thresholds: bigint[] } {
  const { base, keys } = stepKeys((k: bigint) => code(f64OfKey(k)), keyOfF64(-Infinity), keyOfF64(Infinity), (a, b) => (a + b) >> 1n, (a) => a + 1n);
  return { base, thresholds: keys };
}

/** Per-channel key tables for the f64 threshold shader: meta [base, count] per channel, keys [L][TMAX] as (lo, hi) words. */
export function packF64Thresholds(tables: { base: number; thresholds: bigint[] }[]): { meta: Int32Array; thr: Uint32Array; tmax: number } {
  const tmax = Math.max(1, ...tables.map((t) => t.thresholds.length));
  const meta = new Int32Array(tables.length * 2);
  const thr = new Uint32Array(tables.length * tmax * 2);
  tables.forEach((t, l) => {
    meta[2 * l] = t.base;
    meta[2 * l + 1] = t.thresholds.length;
    t.thresholds.forEach((k, i) => {
      thr[2 * (l * tmax + i)] = Number(k & 0xffffffffn);
      thr[2 * (l * tmax + i) + 1] = Number(k >> 32n);
    });
  });
  return { meta, thr, tmax };
}

/** Doubles as the (lo, hi) words the shaders read. */
export const f64Words = (v: ArrayLike<number>): Uint32Array => new Uint32Array(Float64Array.from(v).buffer);
