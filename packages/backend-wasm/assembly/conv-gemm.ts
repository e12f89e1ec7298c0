import { EP_BYTES, finish8 } from './epilogue';

// Conv on codes with one input scale (per tensor), as a matrix product over rows of codes:
// Y[o, p] = sum_r W[o, r] * X[r, p], where X[r, p] is the code under tap r = (c, ky, kx) of output
// pixel p (a padded tap holds the channel's zero point, so the epilogue's corr removes every zero
// point at once). X is the input itself for a 1x1 stride-1 conv (rows = channels), interleaved by
// pairs of rows (pairRows), else the taps of its padded planes (pairTaps). The reduction then runs
// over pairs with i32x4.dot_i16x8_s: 8 bytes [a0 b0 a1 b1 a2 b2 a3 b3] of a pair (load8x8_u: i16
// lanes) times the splat weight pair (w[o, 2j], w[o, 2j + 1]) are 8 multiply-adds per instruction
// into int32 (8-bit codes times levels, no overflow for R < 2^15). A register tile of 4 output
// channels by 8 pixels reuses each input vector 4 times and each weight pair twice.
//
// x2: u8 pairs [ceil(R / 2)][P][2] (16 bytes past the end are read, not used)
// w: i32 pairs [ceil(O / 4)][ceil(R / 2)][4]: (w[o, 2j] & 0xffff) | (w[o, 2j + 1] << 16), levels (q - zw)
// ep: epilogue records [O] (epilogue.ts); y: codes u8 [O][P] or float64 [O][P]

// Pixels per block: the X pairs of a block (R x PB bytes) stay in cache across the output tiles.
const PB: i32 = 64;

// Rows [R][ldx] (first P of each) into pairs [ceil(R / 2)][P][2]; an odd last row pairs with zeros.
export function pairRows(x: usize, ldx: i32, R: i32, P: i32, x2: usize): void {
  const zero = i8x16.splat(0);
  for (let j = 0; j < R; j += 2) {
    const a = x + <usize>(j * ldx);
    const b = j + 1 < R ? a + <usize>ldx : 0;
    const dst = x2 + <usize>(j * P);
    let p = 0;
    for (; p + 16 <= P; p += 16) {
      const va = v128.load(a + <usize>p);
      const vb = b != 0 ? v128.load(b + <usize>p) : zero;
      v128.store(dst + (<usize>p << 1), i8x16.shuffle(va, vb, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
      v128.store(dst + (<usize>p << 1), i8x16.shuffle(va, vb, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), 16);
    }
    for (; p < P; p++) {
      store<u8>(dst + (<usize>p << 1), load<u8>(a + <usize>p));
      store<u8>(dst + (<usize>p << 1) + 1, b != 0 ? load<u8>(b + <usize>p) : 0);
    }
  }
}

export function convGemm(x2: usize, R: i32, P: i32, w: usize, O: i32, ep: usize, y: usize, codes: i32): void {
  const R2 = (R + 1) >> 1;
  const tileBytes = <usize>R2 << 4;
  const ld = <usize>P << 1;
  for (let pb = 0; pb < P; pb += PB) {
    const pe = min(P, pb + PB);
    for (let ob = 0; ob < O; ob += 4) {
      const wt = w + <usize>(ob >> 2) * tileBytes;
      for (let p = pb; p < pe; p += 8) {
        let a0l = i32x4.splat(0); let a0h = i32x4.splat(0);
        let a1l = i32x4.splat(0); let a1h = i32x4.splat(0);
        let a2l = i32x4.splat(0); let a2h = i32x4.splat(0);
        let a3l = i32x4.splat(0); let a3h = i32x4.splat(0);
        let xp = x2 + (<usize>p << 1);
        let wp = wt;
        for (let j = 0; j < R2; j++) {
          const lo = v128.load8x8_u(xp);
          const hi = v128.load8x8_u(xp, 8);
          const w0 = v128.load32_splat(wp);
          a0l = i32x4.add(a0l, i32x4.dot_i16x8_s(lo, w0)); a0h = i32x4.add(a0h, i32x4.dot_i16x8_s(hi, w0));
          const w1 = v128.load32_splat(wp, 4);
          a1l = i32x4.add(a1l, i32x4.dot_i16x8_s(lo, w1)); a1h = i32x4.add(a1h, i32x4.dot_i16x8_s(hi, w1));
          const w2 = v128.load32_splat(wp, 8);
          a2l = i32x4.add(a2l, i32x4.dot_i16x8_s(lo, w2)); a2h = i32x4.add(a2h, i32x4.dot_i16x8_s(hi, w2));
          const w3 = v128.load32_splat(wp, 12);
          a3l = i32x4.add(a3l, i32x4.dot_i16x8_s(lo, w3)); a3h = i32x4.add(a3h, i32x4.dot_i16x8_s(hi, w3));
          xp += ld;
          wp += 16;
        }
        const n = min(8, P - p);
        const shift: usize = codes != 0 ? 0 : 3;
        const at = y + (<usize>p << shift);
        const rowBytes = <usize>P << shift;
        const e = ep + <usize>(ob * EP_BYTES);
        finish8(a0l, a0h, e, at + <usize>ob * rowBytes, n, codes);
        if (ob + 1 < O) finish8(a1l, a1h, e + <usize>EP_BYTES, at + <usize>(ob + 1) * rowBytes, n, codes);
        if (ob + 2 < O) finish8(a2l, a2h, e + <usize>(2 * EP_BYTES), at + <usize>(ob + 2) * rowBytes, n, codes);
        if (ob + 3 < O) finish8(a3l, a3h, e + <usize>(3 * EP_BYTES), at + <usize>(ob + 3) * rowBytes, n, codes);
      }
    }
  }
}

// The rows of X of a general conv, interleaved by pairs as convGemm reads them, straight from the
// padded planes (padPlanesCodes): row r = (c, ky, kx) at output pixel (oy, ox) is the code at
// padded row oy * SH + ky * DH, column ox * SW + kx * DW of plane c (a padded tap: the zero point).
// 16 output pixels at a time (stride 1: 16 consecutive bytes; stride 2: the even bytes of 32);
// a row's last block writes up to 30 bytes past it, which the next row or pair overwrites (and
// 32 bytes of slack end the buffer). pad: C planes of PH x PW; x2: pairs [ceil(R / 2)][P][2].
function tapBlock(src: usize, SW: i32): v128 {
  if (SW == 1) return v128.load(src);
  if (SW == 2) return i8x16.shuffle(v128.load(src), v128.load(src, 16), 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  let v = i8x16.splat(0);
  v = i8x16.replace_lane(v, 0, load<u8>(src));
  v = i8x16.replace_lane(v, 1, load<u8>(src + <usize>SW));
  v = i8x16.replace_lane(v, 2, load<u8>(src + <usize>(2 * SW)));
  v = i8x16.replace_lane(v, 3, load<u8>(src + <usize>(3 * SW)));
  v = i8x16.replace_lane(v, 4, load<u8>(src + <usize>(4 * SW)));
  v = i8x16.replace_lane(v, 5, load<u8>(src + <usize>(5 * SW)));
  v = i8x16.replace_lane(v, 6, load<u8>(src + <usize>(6 * SW)));
  v = i8x16.replace_lane(v, 7, load<u8>(src + <usize>(7 * SW)));
  v = i8x16.replace_lane(v, 8, load<u8>(src + <usize>(8 * SW)));
  v = i8x16.replace_lane(v, 9, load<u8>(src + <usize>(9 * SW)));
  v = i8x16.replace_lane(v, 10, load<u8>(src + <usize>(10 * SW)));
  v = i8x16.replace_lane(v, 11, load<u8>(src + <usize>(11 * SW)));
  v = i8x16.replace_lane(v, 12, load<u8>(src + <usize>(12 * SW)));
  v = i8x16.replace_lane(v, 13, load<u8>(src + <usize>(13 * SW)));
  v = i8x16.replace_lane(v, 14, load<u8>(src + <usize>(14 * SW)));
  return i8x16.replace_lane(v, 15, load<u8>(src + <usize>(15 * SW)));
}

// The padded plane's width for pairTaps: every tap of 16-pixel blocks, plus 32 bytes of overread.
export function tapPlaneWidth(KW: i32, SW: i32, DW: i32, OW: i32): i32 {
  return (((OW + 15) & ~15) - 1) * SW + (KW - 1) * DW + 1 + 32;
}

export function pairTaps(pad: usize, C: i32, PH: i32, PW: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32, OH: i32, OW: i32, x2: usize): void {
  const KK = KH * KW;
  const R = C * KK;
  const P = OH * OW;
  const plane = PH * PW;
  const zero = i8x16.splat(0);
  for (let r = 0; r < R; r += 2) {
    const c0 = r / KK, t0 = r % KK;
    const b0 = pad + <usize>(c0 * plane + (t0 / KW) * DH * PW + (t0 % KW) * DW);
    const two = r + 1 < R;
    const c1 = (r + 1) / KK, t1 = (r + 1) % KK;
    const b1 = pad + <usize>(c1 * plane + (t1 / KW) * DH * PW + (t1 % KW) * DW);
    const dst = x2 + <usize>(r * P);
    for (let oy = 0; oy < OH; oy++) {
      const s0 = b0 + <usize>(oy * SH * PW);
      const s1 = b1 + <usize>(oy * SH * PW);
      const d = dst + (<usize>(oy * OW) << 1);
      for (let ox = 0; ox < OW; ox += 16) {
        const va = tapBlock(s0 + <usize>(ox * SW), SW);
        const vb = two ? tapBlock(s1 + <usize>(ox * SW), SW) : zero;
        v128.store(d + (<usize>ox << 1), i8x16.shuffle(va, vb, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
        v128.store(d + (<usize>ox << 1), i8x16.shuffle(va, vb, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), 16);
      }
    }
  }
}
