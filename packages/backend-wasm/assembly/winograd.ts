import { EP_BYTES, finish8 } from './epilogue';

// A 3x3 stride-1 conv on codes (one input scale) by Winograd's F(2x2, 3x3), in integers:
// an output tile of 2x2 pixels from a 4x4 input tile d is A^T [U (.) V] A with V = B^T d B and
// U = G g G^T. With G' = 2G (integer) the weights' U' = G' g G'^T = 4U are integers, so
// A^T [U' (.) V] A is 4 times the tile's int32 sums, exactly: the same accumulators as the direct
// kernel (convGemm), finished by the same epilogue, with 16 multiply-adds per tile and channel
// pair instead of 36. V lies in [-4 * 255, 4 * 255] and U' in [-9 * 255, 9 * 255], both int16;
// the plan checks that no int32 sum can overflow.
//
// Layouts (T8: tiles rounded up with slack; tiles of one row contiguous, t = ty * TW + tx):
//   pad: C planes PH x PW of codes padded with the zero point (tile (ty, tx) at row 2ty, column 2tx)
//   v: int16 pairs [16][ceil(C/2)][T8][2] (channels c, c + 1 of a pair side by side)
//   w: int32 weight pairs [16][ceil(O/4)][ceil(C/2)][4] (as convGemm's tiles, one set per position)
//   m: int32 [16][O][T8]

// Scratch for one channel's 16 transformed vectors (to interleave with the next channel's).
const STASH: usize = memory.data(16 * 16, 16);

// @inline
function even(v: v128): v128 {
  return i16x8.extend_low_i8x16_u(i8x16.shuffle(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0));
}
// @inline
function odd(v: v128): v128 {
  return i16x8.extend_low_i8x16_u(i8x16.shuffle(v, v, 1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0));
}

// B^T d B for 8 tiles of channel plane p at tile row ty, tiles tx0..tx0+7: 16 vectors (xi = 4i + j) of
// 8 int16 lanes (the tiles) at out.
// @inline
function transformRow(p: usize, PW: i32, ty: i32, tx0: i32, out: usize): void {
  const base = p + <usize>(2 * ty * PW + 2 * tx0);
  // Rows 0..3 of the 8 tiles, columns 0..3 each (int16 lanes = tiles).
  const r0a = v128.load(base), r0b = v128.load(base, 2);
  const r1a = v128.load(base + <usize>PW), r1b = v128.load(base + <usize>PW, 2);
  const r2a = v128.load(base + <usize>(2 * PW)), r2b = v128.load(base + <usize>(2 * PW), 2);
  const r3a = v128.load(base + <usize>(3 * PW)), r3b = v128.load(base + <usize>(3 * PW), 2);
  // Along the rows first (B^T d): t0 = d0 - d2, t1 = d1 + d2, t2 = d2 - d1, t3 = d1 - d3, per column.
  const d00 = even(r0a), d01 = odd(r0a), d02 = even(r0b), d03 = odd(r0b);
  const d10 = even(r1a), d11 = odd(r1a), d12 = even(r1b), d13 = odd(r1b);
  const d20 = even(r2a), d21 = odd(r2a), d22 = even(r2b), d23 = odd(r2b);
  const d30 = even(r3a), d31 = odd(r3a), d32 = even(r3b), d33 = odd(r3b);
  const t00 = i16x8.sub(d00, d20), t01 = i16x8.sub(d01, d21), t02 = i16x8.sub(d02, d22), t03 = i16x8.sub(d03, d23);
  const t10 = i16x8.add(d10, d20), t11 = i16x8.add(d11, d21), t12 = i16x8.add(d12, d22), t13 = i16x8.add(d13, d23);
  const t20 = i16x8.sub(d20, d10), t21 = i16x8.sub(d21, d11), t22 = i16x8.sub(d22, d12), t23 = i16x8.sub(d23, d13);
  const t30 = i16x8.sub(d10, d30), t31 = i16x8.sub(d11, d31), t32 = i16x8.sub(d12, d32), t33 = i16x8.sub(d13, d33);
  // Then along the columns (. B): V[i][0] = ti0 - ti2, V[i][1] = ti1 + ti2, V[i][2] = ti2 - ti1, V[i][3] = ti1 - ti3.
  v128.store(out, i16x8.sub(t00, t02), 0);
  v128.store(out, i16x8.add(t01, t02), 16);
  v128.store(out, i16x8.sub(t02, t01), 32);
  v128.store(out, i16x8.sub(t01, t03), 48);
  v128.store(out, i16x8.sub(t10, t12), 64);
  v128.store(out, i16x8.add(t11, t12), 80);
  v128.store(out, i16x8.sub(t12, t11), 96);
  v128.store(out, i16x8.sub(t11, t13), 112);
  v128.store(out, i16x8.sub(t20, t22), 128);
  v128.store(out, i16x8.add(t21, t22), 144);
  v128.store(out, i16x8.sub(t22, t21), 160);
  v128.store(out, i16x8.sub(t21, t23), 176);
  v128.store(out, i16x8.sub(t30, t32), 192);
  v128.store(out, i16x8.add(t31, t32), 208);
  v128.store(out, i16x8.sub(t32, t31), 224);
  v128.store(out, i16x8.sub(t31, t33), 240);
}

export function winogradInput(pad: usize, C: i32, PH: i32, PW: i32, TH: i32, TW: i32, T8: i32, v: usize): void {
  const C2 = (C + 1) >> 1;
  const plane = <usize>(PH * PW);
  const xiStride = <usize>C2 * <usize>T8 * 4;
  const other: usize = STASH + 256;
  for (let j = 0; j < C2; j++) {
    const pa = pad + <usize>(2 * j) * plane;
    const two = 2 * j + 1 < C;
    for (let ty = 0; ty < TH; ty++) {
      for (let tx0 = 0; tx0 < TW; tx0 += 8) {
        transformRow(pa, PW, ty, tx0, STASH);
        if (two) transformRow(pa + plane, PW, ty, tx0, other);
        else for (let i = 0; i < 16; i++) v128.store(other + <usize>(i << 4), i16x8.splat(0));
        const t = ty * TW + tx0;
        let dst = v + <usize>j * <usize>T8 * 4 + (<usize>t << 2);
        for (let xi = 0; xi < 16; xi++) {
          const a = v128.load(STASH + <usize>(xi << 4));
          const b = v128.load(other + <usize>(xi << 4));
          v128.store(dst, i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11));
          v128.store(dst, i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), 16);
          dst += xiStride;
        }
      }
    }
  }
}

// m[xi][o][t] = sum over channel pairs of w[xi] x v[xi]: convGemm's 4-output x 8-tile register
// tile with int16 tiles (two plain loads instead of widening ones), raw int32 sums out.
const PB: i32 = 64;

export function winogradGemm(v: usize, C: i32, T8: i32, w: usize, O: i32, m: usize): void {
  const C2 = (C + 1) >> 1;
  const O4 = (O + 3) >> 2;
  const ld = <usize>T8 << 2;
  for (let xi = 0; xi < 16; xi++) {
    const vx = v + <usize>xi * <usize>C2 * ld;
    const wx = w + <usize>xi * <usize>(O4 * C2) * 16;
    const mx = m + <usize>xi * <usize>(O * T8) * 4;
    for (let pb = 0; pb < T8; pb += PB) {
      const pe = min(T8, pb + PB);
      for (let ob = 0; ob < O; ob += 4) {
        const wt = wx + <usize>(ob >> 2) * <usize>C2 * 16;
        for (let p = pb; p < pe; p += 8) {
          let a0l = i32x4.splat(0); let a0h = i32x4.splat(0);
          let a1l = i32x4.splat(0); let a1h = i32x4.splat(0);
          let a2l = i32x4.splat(0); let a2h = i32x4.splat(0);
          let a3l = i32x4.splat(0); let a3h = i32x4.splat(0);
          let xp = vx + (<usize>p << 2);
          let wp = wt;
          for (let j = 0; j < C2; j++) {
            const lo = v128.load(xp);
            const hi = v128.load(xp, 16);
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
          const at = mx + (<usize>p << 2);
          const row = <usize>T8 << 2;
          v128.store(at + <usize>ob * row, a0l); v128.store(at + <usize>ob * row, a0h, 16);
          if (ob + 1 < O) { v128.store(at + <usize>(ob + 1) * row, a1l); v128.store(at + <usize>(ob + 1) * row, a1h, 16); }
          if (ob + 2 < O) { v128.store(at + <usize>(ob + 2) * row, a2l); v128.store(at + <usize>(ob + 2) * row, a2h, 16); }
          if (ob + 3 < O) { v128.store(at + <usize>(ob + 3) * row, a3l); v128.store(at + <usize>(ob + 3) * row, a3h, 16); }
        }
      }
    }
  }
}

// The output tiles: A^T M A / 4 (exact) for 4 tiles of a row at a time, as the accumulators of 8
// consecutive output pixels of each of the tile's two rows, finished by the conv epilogue (codes
// or float64). y: [O][OH][OW].
export function winogradOutput(m: usize, O: i32, T8: i32, TH: i32, TW: i32, OH: i32, OW: i32, ep: usize, y: usize, codes: i32): void {
  const xiStride = <usize>(O * T8) << 2;
  const shift: usize = codes != 0 ? 0 : 3;
  for (let o = 0; o < O; o++) {
    const mo = m + (<usize>(o * T8) << 2);
    const e = ep + <usize>(o * EP_BYTES);
    const plane = y + (<usize>(o * OH * OW) << shift);
    for (let ty = 0; ty < TH; ty++) {
      for (let tx0 = 0; tx0 < TW; tx0 += 4) {
        const at = mo + (<usize>(ty * TW + tx0) << 2);
        // s0_j = M0j + M1j + M2j, s1_j = M1j - M2j - M3j (rows), then the same along the columns.
        const m00 = v128.load(at), m01 = v128.load(at + xiStride), m02 = v128.load(at + 2 * xiStride), m03 = v128.load(at + 3 * xiStride);
        const m10 = v128.load(at + 4 * xiStride), m11 = v128.load(at + 5 * xiStride), m12 = v128.load(at + 6 * xiStride), m13 = v128.load(at + 7 * xiStride);
        const m20 = v128.load(at + 8 * xiStride), m21 = v128.load(at + 9 * xiStride), m22 = v128.load(at + 10 * xiStride), m23 = v128.load(at + 11 * xiStride);
        const m30 = v128.load(at + 12 * xiStride), m31 = v128.load(at + 13 * xiStride), m32 = v128.load(at + 14 * xiStride), m33 = v128.load(at + 15 * xiStride);
        const s00 = i32x4.add(i32x4.add(m00, m10), m20), s01 = i32x4.add(i32x4.add(m01, m11), m21);
        const s02 = i32x4.add(i32x4.add(m02, m12), m22), s03 = i32x4.add(i32x4.add(m03, m13), m23);
        const s10 = i32x4.sub(i32x4.sub(m10, m20), m30), s11 = i32x4.sub(i32x4.sub(m11, m21), m31);
        const s12 = i32x4.sub(i32x4.sub(m12, m22), m32), s13 = i32x4.sub(i32x4.sub(m13, m23), m33);
        const y00 = i32x4.shr_s(i32x4.add(i32x4.add(s00, s01), s02), 2);
        const y01 = i32x4.shr_s(i32x4.sub(i32x4.sub(s01, s02), s03), 2);
        const y10 = i32x4.shr_s(i32x4.add(i32x4.add(s10, s11), s12), 2);
        const y11 = i32x4.shr_s(i32x4.sub(i32x4.sub(s11, s12), s13), 2);
        const ox = 2 * tx0;
        const n = min(8, OW - ox);
        finish8(i32x4.shuffle(y00, y01, 0, 4, 1, 5), i32x4.shuffle(y00, y01, 2, 6, 3, 7), e, plane + (<usize>(2 * ty * OW + ox) << shift), n, codes);
        if (2 * ty + 1 < OH) finish8(i32x4.shuffle(y10, y11, 0, 4, 1, 5), i32x4.shuffle(y10, y11, 2, 6, 3, 7), e, plane + (<usize>((2 * ty + 1) * OW + ox) << shift), n, codes);
      }
    }
  }
}

// Level r of a row of nibbles (two per byte, r even in the low nibble) plus the row's offset.
// @inline
function nibble(row: usize, r: i32, off: i32): i32 {
  const b = <i32>load<u8>(row + <usize>(r >> 1));
  return ((r & 1) != 0 ? b >> 4 : b & 15) + off;
}

// The weights' transform per call (they stay 4-bit in memory): levels of output channel o are
// nibbles + offs[o] (int8), 9 taps per input channel, two per byte from tap 0 of channel 0
// ([O][ceil(C * 9 / 2)] bytes). Writes U' = G' g G'^T, G' = [[2,0,0],[1,1,1],[1,-1,1],[0,0,2]],
// as winogradGemm's int16 pairs [16][ceil(O/4)][ceil(C/2)][4].
export function winogradWeights(packed: usize, offs: usize, O: i32, C: i32, out: usize): void {
  const C2 = (C + 1) >> 1;
  const O4 = (O + 3) >> 2;
  const rowBytes = (C * 9 + 1) >> 1;
  const xiStride = <usize>(O4 * C2) << 4;
  memory.fill(out, 0, xiStride * 16);
  for (let o = 0; o < O; o++) {
    const off = <i32>load<i8>(offs + <usize>o);
    const row = packed + <usize>(o * rowBytes);
    for (let c = 0; c < C; c++) {
      const r0 = c * 9;
      const g0 = nibble(row, r0, off), g1 = nibble(row, r0 + 1, off), g2 = nibble(row, r0 + 2, off);
      const g3 = nibble(row, r0 + 3, off), g4 = nibble(row, r0 + 4, off), g5 = nibble(row, r0 + 5, off);
      const g6 = nibble(row, r0 + 6, off), g7 = nibble(row, r0 + 7, off), g8 = nibble(row, r0 + 8, off);
      // t = G' g (4 x 3), then U' = t G'^T (4 x 4).
      const dst = out + ((<usize>(o >> 2) * <usize>C2 + <usize>(c >> 1)) << 4) + <usize>((o & 3) << 2) + <usize>((c & 1) << 1);
      for (let i = 0; i < 4; i++) {
        let t0: i32, t1: i32, t2: i32;
        if (i == 0) { t0 = 2 * g0; t1 = 2 * g1; t2 = 2 * g2; }
        else if (i == 1) { t0 = g0 + g3 + g6; t1 = g1 + g4 + g7; t2 = g2 + g5 + g8; }
        else if (i == 2) { t0 = g0 - g3 + g6; t1 = g1 - g4 + g7; t2 = g2 - g5 + g8; }
        else { t0 = 2 * g6; t1 = 2 * g7; t2 = 2 * g8; }
        const base = dst + <usize>(i * 4) * xiStride;
        store<i16>(base, <i16>(2 * t0));
        store<i16>(base + xiStride, <i16>(t0 + t1 + t2));
        store<i16>(base + 2 * xiStride, <i16>(t0 - t1 + t2));
        store<i16>(base + 3 * xiStride, <i16>(2 * t2));
      }
    }
  }
}
