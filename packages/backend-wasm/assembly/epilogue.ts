// The end of an integer conv for 8 consecutive output pixels of one output channel o:
// A = acc - corr[o] (the zero-point correction, sum_r zx_r * w[o, r], since padded taps hold zx),
// t = A * m[o] + c[o] in float64, then either t stored as float64 (m = sx * sw, c = bias: the
// layer's real output), or the codes clamp(round_half_even(t) + zo[o], lo[o], hi[o]) stored as
// bytes (QuantizeLinear fused: m = sx * sw / so, c = bias / so). Folding the output scale into m
// and c saves a division per output; it rounds differently from (A * sx * sw + bias) / so only in
// the last bits, which changes a code only at a tie to within ~1e-15 (counted in the docs).
//
// Epilogue parameters, one record per output channel at ep + o * EP_BYTES:
//   corr i32, zo i32, lo i32, hi i32, m f64, c f64  (32 bytes)
export const EP_BYTES: i32 = 32;

// Staging for partial stores (fewer than 8 valid pixels at a row's end).
const STAGE: usize = memory.data(64, 16);

// @inline
function affine(a: v128, m: v128, c: v128): v128 {
  return f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(a), m), c);
}

// round_half_even(t) as int32 in the low word of each float64 lane: adding 1.5 * 2^52 leaves the
// integer in the low mantissa bits, rounded to nearest even by the addition itself (cheaper in V8
// than nearest + trunc_sat). t is first clamped to +-2^30, far outside every grid, so it stays exact.
const MAGIC: f64 = 6755399441055744.0;
const LIMIT: f64 = 1073741824.0;

// @inline
export function rounded(t: v128): v128 {
  return f64x2.add(f64x2.pmin(f64x2.pmax(t, f64x2.splat(-LIMIT)), f64x2.splat(LIMIT)), f64x2.splat(MAGIC));
}

/**
 * Finish 8 pixels (accLo: pixels 0-3, accHi: 4-7) of the output channel whose record is at ep;
 * n <= 8 of them valid. y points at the first pixel: a byte per pixel when codes != 0, else a float64.
 */
// @inline
export function finish8(accLo: v128, accHi: v128, ep: usize, y: usize, n: i32, codes: i32): void {
  const corr = i32x4.splat(load<i32>(ep));
  const a0 = i32x4.sub(accLo, corr);
  const a1 = i32x4.sub(accHi, corr);
  const m = f64x2.splat(load<f64>(ep, 16));
  const c = f64x2.splat(load<f64>(ep, 24));
  const v0 = affine(a0, m, c);
  const v1 = affine(i32x4.shuffle(a0, a0, 2, 3, 0, 1), m, c);
  const v2 = affine(a1, m, c);
  const v3 = affine(i32x4.shuffle(a1, a1, 2, 3, 0, 1), m, c);
  if (codes != 0) {
    const zo = i32x4.splat(load<i32>(ep, 4));
    const lo = i32x4.splat(load<i32>(ep, 8));
    const hi = i32x4.splat(load<i32>(ep, 12));
    let q0 = i32x4.shuffle(rounded(v0), rounded(v1), 0, 2, 4, 6);
    let q1 = i32x4.shuffle(rounded(v2), rounded(v3), 0, 2, 4, 6);
    q0 = i32x4.min_s(i32x4.max_s(i32x4.add(q0, zo), lo), hi);
    q1 = i32x4.min_s(i32x4.max_s(i32x4.add(q1, zo), lo), hi);
    const w16 = i16x8.narrow_i32x4_s(q0, q1);
    const b8 = i8x16.narrow_i16x8_u(w16, w16);
    if (n == 8) {
      store<u64>(y, i64x2.extract_lane(b8, 0));
    } else {
      v128.store(STAGE, b8);
      for (let i = 0; i < n; i++) store<u8>(y + <usize>i, load<u8>(STAGE + <usize>i));
    }
  } else if (n == 8) {
    v128.store(y, v0);
    v128.store(y, v1, 16);
    v128.store(y, v2, 32);
    v128.store(y, v3, 48);
  } else {
    v128.store(STAGE, v0);
    v128.store(STAGE, v1, 16);
    v128.store(STAGE, v2, 32);
    v128.store(STAGE, v3, 48);
    for (let i = 0; i < n; i++) store<f64>(y + (<usize>i << 3), load<f64>(STAGE + (<usize>i << 3)));
  }
}
