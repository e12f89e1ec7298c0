// Elementwise ops on top of the integer core: table lookups (an elementwise function of codes,
// tabulated on the host) and float64 ops of a value with one operand per channel.

// y[l][i] = table[l][x[l][i]]: the float64 values of codes x (u8 [L][inner]) by a table of 256
// float64 values per channel l.
export function lookupReal(x: usize, y: usize, L: i32, inner: i32, table: usize): void {
  for (let l = 0; l < L; l++) {
    const t = table + (<usize>l << 11);
    const src = x + <usize>(l * inner);
    const dst = y + (<usize>(l * inner) << 3);
    for (let i = 0; i < inner; i++) store<f64>(dst + (<usize>i << 3), load<f64>(t + (<usize>load<u8>(src + <usize>i) << 3)));
  }
}

// y = op(x, a[c], b[c]) on float64 values [C][HW] (a and b: one float64 per channel; they may
// point into the arena, e.g. a squeeze-and-excitation scale computed by an earlier step).
// f32 != 0: round each result to float32 (the operands are float32 numbers, so this is
// onnxruntime's float32 op exactly).
export const OP_ADD = 0;
export const OP_MUL = 1;
export const OP_SUB = 2;
export const OP_RSUB = 3;
export const OP_DIV = 4;
export const OP_RDIV = 5;
export const OP_CLIP = 6;
export const OP_HARD_SIGMOID = 7;
export const OP_SIGMOID = 8;

// @inline
function apply(op: i32, x: f64, a: f64, b: f64): f64 {
  switch (op) {
    case OP_ADD: return x + a;
    case OP_MUL: return x * a;
    case OP_SUB: return x - a;
    case OP_RSUB: return a - x;
    case OP_DIV: return x / a;
    case OP_RDIV: return a / x;
    case OP_CLIP: return min(b, max(a, x));
    case OP_HARD_SIGMOID: return max(0.0, min(1.0, a * x + b));
    default: return 1.0 / (1.0 + Math.exp(-x));
  }
}

export function channelOpReal(x: usize, y: usize, C: i32, HW: i32, op: i32, a: usize, b: usize, f32: i32): void {
  for (let c = 0; c < C; c++) {
    const av = load<f64>(a + (<usize>c << 3));
    const bv = load<f64>(b + (<usize>c << 3));
    const src = x + (<usize>(c * HW) << 3);
    const dst = y + (<usize>(c * HW) << 3);
    if (op == OP_MUL && f32 == 0) {
      // The squeeze-and-excitation scale on float64 values: two lanes at a time.
      const s = f64x2.splat(av);
      let i = 0;
      for (; i + 2 <= HW; i += 2) v128.store(dst + (<usize>i << 3), f64x2.mul(v128.load(src + (<usize>i << 3)), s));
      for (; i < HW; i++) store<f64>(dst + (<usize>i << 3), load<f64>(src + (<usize>i << 3)) * av);
      continue;
    }
    for (let i = 0; i < HW; i++) {
      const v = apply(op, load<f64>(src + (<usize>i << 3)), av, bv);
      store<f64>(dst + (<usize>i << 3), f32 != 0 ? <f64><f32>v : v);
    }
  }
}

// Nearest-neighbour resize of [C, H, W] into [C, OH, OW] by source row and column indices
// (iy: i32 [OH], ix: i32 [OW], computed on the host by the op's coordinate rules); element size
// 1 (codes) or 8 (float64).
export function resizeNearest(x: usize, C: i32, H: i32, W: i32, OH: i32, OW: i32, iy: usize, ix: usize, size: i32, y: usize): void {
  for (let c = 0; c < C; c++) {
    const src = x + <usize>(c * H * W * size);
    const dst = y + <usize>(c * OH * OW * size);
    for (let oy = 0; oy < OH; oy++) {
      const row = src + <usize>(load<i32>(iy + (<usize>oy << 2)) * W * size);
      const out = dst + <usize>(oy * OW * size);
      // A row equal to the previous one (upsampling): copied whole.
      if (oy > 0 && load<i32>(iy + (<usize>oy << 2)) == load<i32>(iy + (<usize>(oy - 1) << 2))) {
        memory.copy(out, out - <usize>(OW * size), <usize>(OW * size));
        continue;
      }
      if (size == 1) {
        for (let ox = 0; ox < OW; ox++) store<u8>(out + <usize>ox, load<u8>(row + <usize>load<i32>(ix + (<usize>ox << 2))));
      } else {
        for (let ox = 0; ox < OW; ox++) store<f64>(out + (<usize>ox << 3), load<f64>(row + (<usize>load<i32>(ix + (<usize>ox << 2)) << 3)));
      }
    }
  }
}

// A transposed conv whose kernel equals its stride, computed as a 1x1 conv with O * KH * KW
// outputs: its planes [(o, dy, dx)][H][W] scattered to [O][H * KH][W * KW]; element size 1 or 8.
export function depthToSpace(x: usize, O: i32, KH: i32, KW: i32, H: i32, W: i32, size: i32, y: usize): void {
  const OW = W * KW;
  for (let o = 0; o < O; o++) {
    for (let dy = 0; dy < KH; dy++) {
      for (let dx = 0; dx < KW; dx++) {
        const plane = x + <usize>(((o * KH + dy) * KW + dx) * H * W * size);
        for (let iy = 0; iy < H; iy++) {
          const src = plane + <usize>(iy * W * size);
          const dst = y + <usize>(((o * H * KH + iy * KH + dy) * OW + dx) * size);
          if (size == 1) {
            for (let ix = 0; ix < W; ix++) store<u8>(dst + <usize>(ix * KW), load<u8>(src + <usize>ix));
          } else {
            for (let ix = 0; ix < W; ix++) store<f64>(dst + (<usize>(ix * KW) << 3), load<f64>(src + (<usize>ix << 3)));
          }
        }
      }
    }
  }
}
