// Pooling. MaxPool of codes is the code of the max (scales are positive); pads never win.

export function maxPoolCodes(x: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, OH: i32, OW: i32, y: usize): void {
  for (let c = 0; c < C; c++) {
    const plane = x + <usize>(c * H * W);
    const dst = y + <usize>(c * OH * OW);
    for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
      let best: i32 = -1;
      for (let ky = 0; ky < KH; ky++) {
        const iy = oy * SH - PT + ky;
        if (iy < 0 || iy >= H) continue;
        for (let kx = 0; kx < KW; kx++) {
          const ix = ox * SW - PL + kx;
          if (ix < 0 || ix >= W) continue;
          const v = <i32>load<u8>(plane + <usize>(iy * W + ix));
          if (v > best) best = v;
        }
      }
      store<u8>(dst + <usize>(oy * OW + ox), <u8>best);
    }
  }
}

export function maxPoolReal(x: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PT: i32, PL: i32, OH: i32, OW: i32, y: usize): void {
  for (let c = 0; c < C; c++) {
    const plane = x + (<usize>(c * H * W) << 3);
    const dst = y + (<usize>(c * OH * OW) << 3);
    for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
      let best: f64 = -Infinity;
      for (let ky = 0; ky < KH; ky++) {
        const iy = oy * SH - PT + ky;
        if (iy < 0 || iy >= H) continue;
        for (let kx = 0; kx < KW; kx++) {
          const ix = ox * SW - PL + kx;
          if (ix < 0 || ix >= W) continue;
          best = max(best, load<f64>(plane + (<usize>(iy * W + ix) << 3)));
        }
      }
      store<f64>(dst + (<usize>(oy * OW + ox) << 3), best);
    }
  }
}

// Mean over HW of codes: s[c] * sum(q - zp[c]) / HW (the sum is an exact integer).
export function globalAvgPoolCodes(x: usize, C: i32, HW: i32, s: usize, zp: usize, y: usize): void {
  for (let c = 0; c < C; c++) {
    const src = x + <usize>(c * HW);
    let sum = 0;
    for (let i = 0; i < HW; i++) sum += <i32>load<u8>(src + <usize>i);
    const d = sum - HW * load<i32>(zp + (<usize>c << 2));
    store<f64>(y + (<usize>c << 3), (<f64>d * load<f64>(s + (<usize>c << 3))) / <f64>HW);
  }
}

export function globalAvgPoolReal(x: usize, C: i32, HW: i32, y: usize): void {
  for (let c = 0; c < C; c++) {
    const src = x + (<usize>(c * HW) << 3);
    let sum: f64 = 0;
    for (let i = 0; i < HW; i++) sum += load<f64>(src + (<usize>i << 3));
    store<f64>(y + (<usize>c << 3), sum / <f64>HW);
  }
}
