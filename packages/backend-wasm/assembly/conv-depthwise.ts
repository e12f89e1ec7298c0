import { EP_BYTES, finish8 } from './epilogue';
import { padPlane } from './planes';

// Depthwise conv on codes (group = channels, one input channel per output channel, so one
// input scale per group: exact for per-channel activation scales too). Each channel's plane is
// first copied into a padded plane filled with its zero point (so padded taps add nothing once
// the epilogue's corr = zx * sum_k w[c, k] is removed); then 8 output pixels of a row at a time
// take, per tap, 8 input codes (stride 1: 8 consecutive bytes; stride 2: the even bytes of 16,
// picked and zero-extended to i16 by one shuffle) times the splat tap level.
// narrow != 0 (the caller proved max code * sum_k |w[c, k]| <= 32767 for every channel, e.g. 4-bit
// codes and 4-bit levels: 15 * 15 * 9): the sums fit int16, one i16x8.mul + add per tap;
// otherwise products widen to int32 (i32x4.extmul_*_i16x8_s). 3x3 kernels keep the 9 splat
// levels in registers.
//
// x: u8 codes [C, H, W]; zx: i32 [C]; w: i32 levels [C][KH * KW]; SH, SW: 1 or 2
// pad: u8 scratch >= depthwisePadBytes(...); ep: epilogue records [C]; y: u8 or f64 [C, OH, OW]

/** Width of the padded plane: every tap of every output pixel, plus 32 bytes (16-byte overreads and row copies). */
// @inline
function padW(KW: i32, SW: i32, OW: i32): i32 {
  const ow8 = (OW + 7) & ~7;
  return (ow8 - 1) * SW + KW + 32;
}

export function depthwisePadBytes(KH: i32, KW: i32, SH: i32, SW: i32, OH: i32, OW: i32): i32 {
  return ((OH - 1) * SH + KH) * padW(KW, SW, OW) + 32;
}

// 8 codes of taps k, k + S, ... as i16 lanes.
// @inline
function taps(src: usize, SW: i32): v128 {
  if (SW == 1) return v128.load8x8_u(src);
  return i8x16.shuffle(v128.load(src), i16x8.splat(0), 0, 16, 2, 16, 4, 16, 6, 16, 8, 16, 10, 16, 12, 16, 14, 16);
}

// @inline
function splatTap(wc: usize, k: i32): v128 {
  return i16x8.splat(<i16>load<i32>(wc + (<usize>k << 2)));
}

function depthwise3x3(pad: usize, PW: i32, wc: usize, SH: i32, SW: i32, OH: i32, OW: i32, e: usize, out: usize, shift: usize, codes: i32, narrow: i32): void {
  const w0 = splatTap(wc, 0); const w1 = splatTap(wc, 1); const w2 = splatTap(wc, 2);
  const w3 = splatTap(wc, 3); const w4 = splatTap(wc, 4); const w5 = splatTap(wc, 5);
  const w6 = splatTap(wc, 6); const w7 = splatTap(wc, 7); const w8 = splatTap(wc, 8);
  for (let oy = 0; oy < OH; oy++) {
    const r0 = pad + <usize>(oy * SH * PW);
    const r1 = r0 + <usize>PW;
    const r2 = r1 + <usize>PW;
    for (let ox = 0; ox < OW; ox += 8) {
      const o = <usize>(ox * SW);
      let al: v128;
      let ah: v128;
      if (narrow != 0) {
        let a = i16x8.mul(taps(r0 + o, SW), w0);
        a = i16x8.add(a, i16x8.mul(taps(r0 + o + 1, SW), w1));
        a = i16x8.add(a, i16x8.mul(taps(r0 + o + 2, SW), w2));
        a = i16x8.add(a, i16x8.mul(taps(r1 + o, SW), w3));
        a = i16x8.add(a, i16x8.mul(taps(r1 + o + 1, SW), w4));
        a = i16x8.add(a, i16x8.mul(taps(r1 + o + 2, SW), w5));
        a = i16x8.add(a, i16x8.mul(taps(r2 + o, SW), w6));
        a = i16x8.add(a, i16x8.mul(taps(r2 + o + 1, SW), w7));
        a = i16x8.add(a, i16x8.mul(taps(r2 + o + 2, SW), w8));
        al = i32x4.extend_low_i16x8_s(a);
        ah = i32x4.extend_high_i16x8_s(a);
      } else {
        let v = taps(r0 + o, SW);
        al = i32x4.extmul_low_i16x8_s(v, w0); ah = i32x4.extmul_high_i16x8_s(v, w0);
        v = taps(r0 + o + 1, SW); al = i32x4.add(al, i32x4.extmul_low_i16x8_s(v, w1)); ah = i32x4.add(ah, i32x4.extmul_high_i16x8_s(v, w1));
        v = taps(r0 + o + 2, SW); al = i32x4.add(al, i32x4.extmul_low_i16x8_s(v, w2)); ah = i32x4.add(ah, i32x4.extmul_high_i16x8_s(v, w2));
        v = taps(r1 + o, SW); al = i32x4.add(al, i32x4.extmul_low_i16x8_s(v, w3)); ah = i32x4.add(ah, i32x4.extmul_high_i16x8_s(v, w3));
        v = taps(r1 + o + 1, SW); al = i32x4.add(al, i32x4.extmul_low_i16x8_s(v, w4)); ah = i32x4.add(ah, i32x4.extmul_high_i16x8_s(v, w4));
        v = taps(r1 + o + 2, SW); al = i32x4.add(al, i32x4.extmul_low_i16x8_s(v, w5)); ah = i32x4.add(ah, i32x4.extmul_high_i16x8_s(v, w5));
        v = taps(r2 + o, SW); al = i32x4.add(al, i32x4.extmul_low_i16x8_s(v, w6)); ah = i32x4.add(ah, i32x4.extmul_high_i16x8_s(v, w6));
        v = taps(r2 + o + 1, SW); al = i32x4.add(al, i32x4.extmul_low_i16x8_s(v, w7)); ah = i32x4.add(ah, i32x4.extmul_high_i16x8_s(v, w7));
        v = taps(r2 + o + 2, SW); al = i32x4.add(al, i32x4.extmul_low_i16x8_s(v, w8)); ah = i32x4.add(ah, i32x4.extmul_high_i16x8_s(v, w8));
      }
      finish8(al, ah, e, out + (<usize>(oy * OW + ox) << shift), min(8, OW - ox), codes);
    }
  }
}

function depthwiseAny(pad: usize, PW: i32, wc: usize, KH: i32, KW: i32, SH: i32, SW: i32, OH: i32, OW: i32, e: usize, out: usize, shift: usize, codes: i32): void {
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox += 8) {
      let al = i32x4.splat(0);
      let ah = i32x4.splat(0);
      for (let ky = 0; ky < KH; ky++) {
        let src = pad + <usize>((oy * SH + ky) * PW + ox * SW);
        for (let kx = 0; kx < KW; kx++) {
          const v = taps(src, SW);
          const wv = splatTap(wc, ky * KW + kx);
          al = i32x4.add(al, i32x4.extmul_low_i16x8_s(v, wv));
          ah = i32x4.add(ah, i32x4.extmul_high_i16x8_s(v, wv));
          src += 1;
        }
      }
      finish8(al, ah, e, out + (<usize>(oy * OW + ox) << shift), min(8, OW - ox), codes);
    }
  }
}

export function convDepthwise(
  x: usize, zx: usize, C: i32, H: i32, W: i32, w: usize,
  KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, OH: i32, OW: i32,
  pad: usize, ep: usize, y: usize, codes: i32, narrow: i32,
): void {
  const PW = padW(KW, SW, OW);
  const PH = (OH - 1) * SH + KH;
  const KK = KH * KW;
  const shift: usize = codes != 0 ? 0 : 3;
  for (let c = 0; c < C; c++) {
    padPlane(x, c, <u8>load<i32>(zx + (<usize>c << 2)), H, W, PT, PL, PH, PW, pad);
    const wc = w + (<usize>(c * KK) << 2);
    const e = ep + <usize>(c * EP_BYTES);
    const out = y + (<usize>(c * OH * OW) << shift);
    if (KH == 3 && KW == 3) depthwise3x3(pad, PW, wc, SH, SW, OH, OW, e, out, shift, codes, narrow);
    else depthwiseAny(pad, PW, wc, KH, KW, SH, SW, OH, OW, e, out, shift, codes);
  }
}
