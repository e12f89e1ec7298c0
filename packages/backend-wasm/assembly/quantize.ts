import { rounded } from './epilogue';

// Between real (float64) values and integer codes, per channel: channel c holds HW values.

// q = clamp(round_half_even(y / s[c]) + zp[c], lo[c], hi[c]): QuantizeLinear after the lowering's per-channel clamp.
export function quantize(y: usize, q: usize, C: i32, HW: i32, s: usize, zp: usize, lo: usize, hi: usize): void {
  for (let c = 0; c < C; c++) {
    const sc = load<f64>(s + (<usize>c << 3));
    const z = load<i32>(zp + (<usize>c << 2));
    const l = load<i32>(lo + (<usize>c << 2));
    const h = load<i32>(hi + (<usize>c << 2));
    const src = y + (<usize>(c * HW) << 3);
    const dst = q + <usize>(c * HW);
    // Four at a time: the same division and rounding (half to even) in float64 lanes.
    const vs = f64x2.splat(sc), vz = i32x4.splat(z), vl = i32x4.splat(l), vh = i32x4.splat(h);
    let i = 0;
    for (; i + 4 <= HW; i += 4) {
      const at = src + (<usize>i << 3);
      let r = i32x4.shuffle(rounded(f64x2.div(v128.load(at), vs)), rounded(f64x2.div(v128.load(at, 16), vs)), 0, 2, 4, 6);
      r = i32x4.min_s(i32x4.max_s(i32x4.add(r, vz), vl), vh);
      const w16 = i16x8.narrow_i32x4_s(r, r);
      store<u32>(dst + <usize>i, i32x4.extract_lane(i8x16.narrow_i16x8_u(w16, w16), 0));
    }
    for (; i < HW; i++) {
      let v = <i32>nearest<f64>(load<f64>(src + (<usize>i << 3)) / sc) + z;
      v = v < l ? l : v > h ? h : v;
      store<u8>(dst + <usize>i, <u8>v);
    }
  }
}

// y = (q - zp[c]) * s[c] in float64 (exact: an 8-bit integer times a float32 scale).
export function dequantize(q: usize, y: usize, C: i32, HW: i32, s: usize, zp: usize): void {
  for (let c = 0; c < C; c++) {
    const sc = load<f64>(s + (<usize>c << 3));
    const z = load<i32>(zp + (<usize>c << 2));
    const src = q + <usize>(c * HW);
    const dst = y + (<usize>(c * HW) << 3);
    for (let i = 0; i < HW; i++) store<f64>(dst + (<usize>i << 3), <f64>(<i32>load<u8>(src + <usize>i) - z) * sc);
  }
}

// Codes clamped per channel to [lo[c], hi[c]]: Relu (lo = zp) and Clip whose bounds lie on the grid.
export function clampCodes(q: usize, out: usize, C: i32, HW: i32, lo: usize, hi: usize): void {
  for (let c = 0; c < C; c++) {
    const l = i8x16.splat(<i8>load<i32>(lo + (<usize>c << 2)));
    const h = i8x16.splat(<i8>load<i32>(hi + (<usize>c << 2)));
    const src = q + <usize>(c * HW);
    const dst = out + <usize>(c * HW);
    let i = 0;
    for (; i + 16 <= HW; i += 16) v128.store(dst + <usize>i, i8x16.min_u(i8x16.max_u(v128.load(src + <usize>i), l), h));
    const ls = <u8>load<i32>(lo + (<usize>c << 2));
    const hs = <u8>load<i32>(hi + (<usize>c << 2));
    for (; i < HW; i++) {
      const v = load<u8>(src + <usize>i);
      store<u8>(dst + <usize>i, v < ls ? ls : v > hs ? hs : v);
    }
  }
}

// Codes onto another grid by a table per channel (256 bytes each, the code each code becomes):
// x, y: u8 [L][inner]. small != 0: every code is below 16, so one swizzle maps 16 codes.
export function mapCodes(x: usize, y: usize, L: i32, inner: i32, lut: usize, small: i32): void {
  for (let l = 0; l < L; l++) {
    const t = lut + (<usize>l << 8);
    const src = x + <usize>(l * inner);
    const dst = y + <usize>(l * inner);
    let i = 0;
    if (small != 0) {
      const table = v128.load(t);
      for (; i + 16 <= inner; i += 16) v128.store(dst + <usize>i, i8x16.swizzle(table, v128.load(src + <usize>i)));
    }
    for (; i < inner; i++) store<u8>(dst + <usize>i, load<u8>(t + <usize>load<u8>(src + <usize>i)));
  }
}
