// Layout and float kernels around the integer core: Pad and Softmax.

// Spatial constant padding of [C, H, W] into [C, OH, OW] (image at row PT, column PL), element
// size 1 (codes; each channel's fill byte from fill: i32 [C], the code of the value 0) or 8
// (float64; fill: f64 [1]).
export function padPlanes(x: usize, C: i32, H: i32, W: i32, PT: i32, PL: i32, OH: i32, OW: i32, y: usize, size: i32, fill: usize): void {
  const row = <usize>(W * size);
  for (let c = 0; c < C; c++) {
    const dst = y + <usize>(c * OH * OW * size);
    if (size == 1) {
      memory.fill(dst, <u8>load<i32>(fill + (<usize>c << 2)), <usize>(OH * OW));
    } else {
      const v = load<f64>(fill);
      for (let i = 0; i < OH * OW; i++) store<f64>(dst + (<usize>i << 3), v);
    }
    const src = x + <usize>(c * H * W * size);
    for (let iy = 0; iy < H; iy++) {
      memory.copy(dst + <usize>(((iy + PT) * OW + PL) * size), src + <usize>iy * row, row);
    }
  }
}

// Softmax over the last axis of [rows, n] float64 values: exp(x - max) / sum, in float64.
export function softmaxReal(x: usize, rows: i32, n: i32, y: usize): void {
  for (let r = 0; r < rows; r++) {
    const src = x + (<usize>(r * n) << 3);
    const dst = y + (<usize>(r * n) << 3);
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = max(m, load<f64>(src + (<usize>i << 3)));
    let s: f64 = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.exp(load<f64>(src + (<usize>i << 3)) - m);
      store<f64>(dst + (<usize>i << 3), e);
      s += e;
    }
    for (let i = 0; i < n; i++) store<f64>(dst + (<usize>i << 3), load<f64>(dst + (<usize>i << 3)) / s);
  }
}
