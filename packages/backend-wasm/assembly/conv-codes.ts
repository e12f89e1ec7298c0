// Conv on integer codes, exact under per-channel input scales.
//
// y[o] = sw[o] * sum_seg s_seg * A_seg[o] + bias[o] + shift[o] * sum_c s_c * sum_k (x - zx)
// where A_seg = sum over the input channels of one segment (consecutive channels of equal
// scale) and the kernel taps of (x - zx) * (w - zw), accumulated in int32; the segments are
// combined in float64. With a per-tensor input scale there is one segment: a plain int32 conv.
//
// x: u8 codes [C, H, W]; zx: i32 [C]; sx: f64 [C]; segEnd: u8 [C] (1 where a segment ends)
// w: i32 [G][Cg * KH * KW][Op] (w - zw, output channels of the group padded to Op, a multiple of 4)
// sw, bias, shift: f64 [G * Op]; shift may be 0 (no bias-correction term)
// col: i32 scratch [C * KH * KW]; y: f64 [O, OH, OW]

function gather(x: usize, zx: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, iy0: i32, ix0: i32, DH: i32, DW: i32, col: usize): void {
  const KK = KH * KW;
  for (let c = 0; c < C; c++) {
    const z = load<i32>(zx + (<usize>c << 2));
    const plane = x + <usize>(c * H * W);
    const dst = col + (<usize>(c * KK) << 2);
    for (let ky = 0; ky < KH; ky++) {
      const iy = iy0 + ky * DH;
      for (let kx = 0; kx < KW; kx++) {
        const ix = ix0 + kx * DW;
        let v = 0;
        if (iy >= 0 && iy < H && ix >= 0 && ix < W) v = <i32>load<u8>(plane + <usize>(iy * W + ix)) - z;
        store<i32>(dst + (<usize>(ky * KW + kx) << 2), v);
      }
    }
  }
}

export function convCodes(
  x: usize, zx: usize, sx: usize, segEnd: usize, C: i32, H: i32, W: i32,
  w: usize, sw: usize, bias: usize, shift: usize, O: i32, G: i32, Op: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, DH: i32, DW: i32, OH: i32, OW: i32,
  col: usize, y: usize,
): void {
  const Cg = C / G;
  const Og = O / G;
  const KK = KH * KW;
  const R = Cg * KK;
  const OHW = OH * OW;
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      const p = oy * OW + ox;
      gather(x, zx, C, H, W, KH, KW, oy * SH - PT, ox * SW - PL, DH, DW, col);
      for (let g = 0; g < G; g++) {
        const c0 = g * Cg;
        let sumX: f64 = 0;
        if (shift != 0) {
          for (let ic = 0; ic < Cg; ic++) {
            let s = 0;
            const src = col + (<usize>((c0 + ic) * KK) << 2);
            for (let k = 0; k < KK; k++) s += load<i32>(src + (<usize>k << 2));
            sumX += <f64>s * load<f64>(sx + (<usize>(c0 + ic) << 3));
          }
        }
        const wg = w + (<usize>(g * R * Op) << 2);
        for (let ov = 0; ov < Og; ov += 4) {
          let accI = i32x4.splat(0);
          let accF0 = f64x2.splat(0);
          let accF1 = f64x2.splat(0);
          let wp = wg + (<usize>ov << 2);
          let cp = col + (<usize>(c0 * KK) << 2);
          for (let ic = 0; ic < Cg; ic++) {
            for (let k = 0; k < KK; k++) {
              accI = i32x4.add(accI, i32x4.mul(i32x4.splat(load<i32>(cp)), v128.load(wp)));
              cp += 4;
              wp += <usize>Op << 2;
            }
            const c = c0 + ic;
            if (load<u8>(segEnd + <usize>c) != 0) {
              const s = f64x2.splat(load<f64>(sx + (<usize>c << 3)));
              accF0 = f64x2.add(accF0, f64x2.mul(f64x2.convert_low_i32x4_s(accI), s));
              accF1 = f64x2.add(accF1, f64x2.mul(f64x2.convert_low_i32x4_s(i32x4.shuffle(accI, accI, 2, 3, 0, 1)), s));
              accI = i32x4.splat(0);
            }
          }
          const base = g * Op + ov;
          const n = min(4, Og - ov);
          for (let j = 0; j < n; j++) {
            const a = j == 0 ? f64x2.extract_lane(accF0, 0) : j == 1 ? f64x2.extract_lane(accF0, 1) : j == 2 ? f64x2.extract_lane(accF1, 0) : f64x2.extract_lane(accF1, 1);
            const q = <usize>(base + j) << 3;
            let v = a * load<f64>(sw + q) + load<f64>(bias + q);
            if (shift != 0) v += load<f64>(shift + q) * sumX;
            store<f64>(y + (<usize>((g * Og + ov + j) * OHW + p) << 3), v);
          }
        }
      }
    }
  }
}
