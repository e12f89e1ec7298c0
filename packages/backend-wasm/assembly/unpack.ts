// Weights stay in memory as 4-bit values (level - offset of their output channel, 0..15, two per
// byte) and are unpacked by each call into scratch, in the layout its kernel reads: the cost is
// one pass over the layer's weights, against P passes of the multiply-adds.

// Packed pair tiles -> int16 pair tiles [O4][R2][4] (conv-gemm.ts). Byte (ob * R2 + j) * 4 + oo
// holds w[4 ob + oo, 2j] (low nibble) and w[4 ob + oo, 2j + 1] (high nibble); offs: i8 [O4 * 4].
export function unpackPairTiles(packed: usize, offs: usize, O4: i32, R2: i32, out: usize): void {
  const mask = i16x8.splat(15);
  for (let ob = 0; ob < O4; ob++) {
    // [off0, off0, off1, off1, off2, off2, off3, off3]: the offset of each lane's output.
    const o4 = i16x8.extend_low_i8x16_s(v128.load32_zero(offs + (<usize>ob << 2)));
    const off = i8x16.shuffle(o4, o4, 0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7);
    const src = packed + (<usize>(ob * R2) << 2);
    const dst = out + (<usize>(ob * R2) << 4);
    for (let j = 0; j < R2; j++) {
      const v = i16x8.extend_low_i8x16_u(v128.load32_zero(src + (<usize>j << 2)));
      const lo = v128.and(v, mask);
      const hi = i16x8.shr_u(v, 4);
      v128.store(dst + (<usize>j << 4), i16x8.add(i8x16.shuffle(lo, hi, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), off));
    }
  }
}

// Packed depthwise taps (ceil(KK / 2) bytes per channel, tap t in the low nibble when t is even)
// -> i32 levels [C][KK]; offs: i8 [C].
export function unpackTaps(packed: usize, offs: usize, C: i32, KK: i32, out: usize): void {
  const KB = (KK + 1) >> 1;
  for (let c = 0; c < C; c++) {
    const off = <i32>load<i8>(offs + <usize>c);
    const src = packed + <usize>(c * KB);
    const dst = out + (<usize>(c * KK) << 2);
    for (let t = 0; t < KK; t++) {
      const b = <i32>load<u8>(src + <usize>(t >> 1));
      store<i32>(dst + (<usize>t << 2), ((t & 1) != 0 ? b >> 4 : b & 15) + off);
    }
  }
}
