// Codes planes padded with their channel's zero point, for the kernels that read every tap of
// an output pixel at a fixed offset (depthwise, and the pairs of taps of a general conv).

// The plane of channel c at row PT, column PL of a plane filled with its zero point, by 16-byte
// vectors (calls of memory.fill/copy cost more than the copy for the small planes of late layers).
// A row's copy may run up to 15 bytes past its end; the 16 zero-point bytes stored after each row
// (inside its right margin, >= 16 bytes wide) restore them.
export function padPlane(x: usize, c: i32, z: u8, H: i32, W: i32, PT: i32, PL: i32, PH: i32, PW: i32, pad: usize): void {
  const zv = i8x16.splat(z);
  const n = PH * PW;
  for (let i = 0; i < n; i += 16) v128.store(pad + <usize>i, zv);
  const plane = x + <usize>(c * H * W);
  const w = min(W, PW - PL - 16);
  for (let iy = 0; iy < H && iy + PT < PH; iy++) {
    const dst = pad + <usize>((iy + PT) * PW + PL);
    const src = plane + <usize>(iy * W);
    for (let j = 0; j < w; j += 16) v128.store(dst + <usize>j, v128.load(src + <usize>j));
    v128.store(dst + <usize>w, zv);
  }
}

// Every channel's plane padded: C planes of PH x PW at dst (PW >= W + PL + 16).
export function padPlanesCodes(x: usize, zx: usize, C: i32, H: i32, W: i32, PT: i32, PL: i32, PH: i32, PW: i32, dst: usize): void {
  for (let c = 0; c < C; c++) padPlane(x, c, <u8>load<i32>(zx + (<usize>c << 2)), H, W, PT, PL, PH, PW, dst + <usize>(c * PH * PW));
}
