// Conv on real (float64) inputs with integer weights: the network input, and values no
// quantizer put on a grid (residual sums). y[o] = sw[o] * sum x * (w - zw) + bias[o] + shift[o] * sum x.
//
// x: f64 [C, H, W]; w: f64 [G][Cg * KH * KW][Op] (w - zw, Op a multiple of 2)
// sw, bias, shift: f64 [G * Op]; shift may be 0. col: f64 scratch [C * KH * KW]; y: f64 [O, OH, OW]

export function convReal(
  x: usize, C: i32, H: i32, W: i32,
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
      const iy0 = oy * SH - PT;
      const ix0 = ox * SW - PL;
      for (let c = 0; c < C; c++) {
        const plane = x + (<usize>(c * H * W) << 3);
        const dst = col + (<usize>(c * KK) << 3);
        for (let ky = 0; ky < KH; ky++) {
          const iy = iy0 + ky * DH;
          for (let kx = 0; kx < KW; kx++) {
            const ix = ix0 + kx * DW;
            let v: f64 = 0;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) v = load<f64>(plane + (<usize>(iy * W + ix) << 3));
            store<f64>(dst + (<usize>(ky * KW + kx) << 3), v);
          }
        }
      }
      for (let g = 0; g < G; g++) {
        const cp0 = col + (<usize>(g * R) << 3);
        let sumX: f64 = 0;
        if (shift != 0) for (let r = 0; r < R; r++) sumX += load<f64>(cp0 + (<usize>r << 3));
        const wg = w + (<usize>(g * R * Op) << 3);
        for (let ov = 0; ov < Og; ov += 2) {
          let acc = f64x2.splat(0);
          let wp = wg + (<usize>ov << 3);
          let cp = cp0;
          for (let r = 0; r < R; r++) {
            acc = f64x2.add(acc, f64x2.mul(f64x2.splat(load<f64>(cp)), v128.load(wp)));
            cp += 8;
            wp += <usize>Op << 3;
          }
          const base = g * Op + ov;
          const n = min(2, Og - ov);
          for (let j = 0; j < n; j++) {
            const a = j == 0 ? f64x2.extract_lane(acc, 0) : f64x2.extract_lane(acc, 1);
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
