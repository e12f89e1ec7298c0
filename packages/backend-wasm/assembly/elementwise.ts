import { rounded } from './epilogue';

// Elementwise kernels on float64 values.

export function addReal(a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 3;
    v128.store(out + o, f64x2.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    store<f64>(out + o, load<f64>(a + o) + load<f64>(b + o));
  }
}

// max(lo, min(hi, x)): Relu (lo = 0, hi = +inf) and Clip.
export function clipReal(x: usize, out: usize, n: i32, lo: f64, hi: f64): void {
  const l = f64x2.splat(lo);
  const h = f64x2.splat(hi);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 3;
    v128.store(out + o, f64x2.pmin(h, f64x2.pmax(l, v128.load(x + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    store<f64>(out + o, min(hi, max(lo, load<f64>(x + o))));
  }
}

// Add of two per-tensor code tensors: the float64 sum v = (qa - za) * sa + (qb - zb) * sb (what
// dequantize then addReal compute, bit for bit) when codes == 0; else the codes of the
// QuantizeLinear that reads it, clamp(round_half_even(t) + zo, lo, hi) with
// t = (qa - za) * fa + (qb - zb) * fb, fa = sa / so and fb = sb / so folded ahead of time (as the
// conv epilogue folds its scales: no division per element; t differs from v / so in the last bits).
// With codes != 0, sa and sb carry fa and fb.
// @inline
function values2(qa: v128, qb: v128, za: v128, zb: v128, sa: v128, sb: v128): v128 {
  return f64x2.add(f64x2.mul(f64x2.convert_low_i32x4_s(i32x4.sub(qa, za)), sa), f64x2.mul(f64x2.convert_low_i32x4_s(i32x4.sub(qb, zb)), sb));
}

export function addCodes(a: usize, za: i32, sa: f64, b: usize, zb: i32, sb: f64, n: i32, y: usize, codes: i32, zo: i32, lo: i32, hi: i32): void {
  const vza = i32x4.splat(za), vzb = i32x4.splat(zb), vsa = f64x2.splat(sa), vsb = f64x2.splat(sb);
  const vzo = i32x4.splat(zo), vlo = i32x4.splat(lo), vhi = i32x4.splat(hi);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const qa = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(a + <usize>i)));
    const qb = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(b + <usize>i)));
    const v0 = values2(qa, qb, vza, vzb, vsa, vsb);
    const v1 = values2(i32x4.shuffle(qa, qa, 2, 3, 0, 1), i32x4.shuffle(qb, qb, 2, 3, 0, 1), vza, vzb, vsa, vsb);
    if (codes != 0) {
      let q = i32x4.shuffle(rounded(v0), rounded(v1), 0, 2, 4, 6);
      q = i32x4.min_s(i32x4.max_s(i32x4.add(q, vzo), vlo), vhi);
      const w16 = i16x8.narrow_i32x4_s(q, q);
      store<u32>(y + <usize>i, i32x4.extract_lane(i8x16.narrow_i16x8_u(w16, w16), 0));
    } else {
      v128.store(y + (<usize>i << 3), v0);
      v128.store(y + (<usize>i << 3), v1, 16);
    }
  }
  for (; i < n; i++) {
    const v = <f64>(<i32>load<u8>(a + <usize>i) - za) * sa + <f64>(<i32>load<u8>(b + <usize>i) - zb) * sb;
    if (codes != 0) {
      let q = <i32>nearest<f64>(v) + zo;
      q = q < lo ? lo : q > hi ? hi : q;
      store<u8>(y + <usize>i, <u8>q);
    } else {
      store<f64>(y + (<usize>i << 3), v);
    }
  }
}
