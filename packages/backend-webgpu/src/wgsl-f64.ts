import { F64_WGSL } from './f64';
import { convPrologue, HEADER, WORKGROUP } from './wgsl';

/*
 * The shaders of float64 values (f64.ts): a conv that performs the
 * WebAssembly kernels' float64 operations in their order, and the
 * threshold requantization of a float64 value. A float64 value is two
 * words per element (low, high) in its buffer.
 */

/** How the f64 conv reads its input: codes (convCodes), or a real value (convReal) given as float32, float64, or codes dequantized in float64. */
export const F64_INPUT = { codes: 0, f32: 1, f64: 2, dequantized: 3 } as const;

/**
 * Conv (Gemm as a 1x1 conv) with a float64 output, one invocation per output pixel (x) and channel (y).
 *
 * Codes input, integer weights (assembly/conv-codes.ts convCodes): per segment of input channels of
 * one scale, A = sum (x - zx) * level in int32, acc = acc + A * s (from 0, segments in order); with a
 * shift, sumX = sumX + (sum (x - zx) over a channel's taps) * s_c, channel by channel.
 * A real input (assembly/conv-real.ts convReal): acc = acc + x * level per tap in order (padded taps
 * x = 0); with a shift, sumX = sumX + x. Then y = acc * sw + bias (+ shift * sumX).
 *
 * params: C H W O OH OW KH KW SH SW PT PL DH DW Cg Og R SHIFT KIND
 * bindings: x (u32 words: codes, float32 bits, or float64 pairs), zx i32 [C], sx f64 [C], segEnd u32 [C],
 * w (i32 levels [O][R] for codes, else f64 [O][R]), chan f64 [O][sw, bias, shift], out f64.
 */
export const CONV_F64_SHADER = `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> zx: array<i32>;
@group(0) @binding(3) var<storage, read> sx: array<u32>;
@group(0) @binding(4) var<storage, read> seg: array<u32>;
@group(0) @binding(5) var<storage, read> w: array<u32>;
@group(0) @binding(6) var<storage, read> chan: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<u32>;
${F64_WGSL}
fn pair(i: i32) -> vec2<u32> { return vec2<u32>(chan[2 * i], chan[2 * i + 1]); }
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${convPrologue(1)}
  let o = o0;
  let R = p(16);
  let shift = p(17) != 0;
  let kind = p(18);
  var acc = vec2<u32>(0u, 0u);
  var sumX = vec2<u32>(0u, 0u);
  var A = 0;
  var r = 0;
  for (var c = 0; c < Cg; c++) {
    let ch = c0 + c;
    let sc = vec2<u32>(sx[2 * ch], sx[2 * ch + 1]);
    var taps = 0;
    for (var ky = 0; ky < KH; ky++) {
      let iy = iy0 + ky * p(12);
      for (var kx = 0; kx < KW; kx++) {
        let ix = ix0 + kx * p(13);
        let inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
        let at = (ch * H + iy) * W + ix;
        if (kind == 0) {
          var v = 0;
          if (inside) { v = i32(x[at]) - zx[ch]; }
          A += v * bitcast<i32>(w[o * R + r]);
          taps += v;
        } else {
          var xv = vec2<u32>(0u, 0u);
          if (inside) {
            if (kind == 1) { xv = f64FromF32Bits(x[at]); }
            else if (kind == 2) { xv = vec2<u32>(x[2 * at], x[2 * at + 1]); }
            else { xv = f64Mul(f64FromI32(i32(x[at]) - zx[ch]), sc); }
          }
          let wi = 2 * (o * R + r);
          acc = f64Add(acc, f64Mul(xv, vec2<u32>(w[wi], w[wi + 1])));
          if (shift) { sumX = f64Add(sumX, xv); }
        }
        r += 1;
      }
    }
    if (kind == 0) {
      if (shift) { sumX = f64Add(sumX, f64Mul(f64FromI32(taps), sc)); }
      if (seg[ch] != 0u) {
        acc = f64Add(acc, f64Mul(f64FromI32(A), sc));
        A = 0;
      }
    }
  }
  var v = f64Add(f64Mul(acc, pair(3 * o)), pair(3 * o + 1));
  if (shift) { v = f64Add(v, f64Mul(pair(3 * o + 2), sumX)); }
  let e = o * P + pix;
  out[2 * e] = v.x;
  out[2 * e + 1] = v.y;
}
`;

/**
 * Threshold requantization of float64 values: the code is base + the number of the channel's
 * thresholds (ordered 64-bit keys, f64.ts) at or below the value's key. params: n inner L TMAX
 */
export const THRESHOLD_F64_SHADER = `${HEADER}
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<i32>;
@group(0) @binding(3) var<storage, read> thr: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;
${F64_WGSL}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = i32(gid.x) + i32(gid.y) * ${WORKGROUP} * 65535;
  if (i >= p(0)) { return; }
  let l = (i / p(1)) % p(2);
  let key = f64Key(vec2<u32>(src[2 * i], src[2 * i + 1]));
  let at = l * p(3);
  var lo = 0;
  var hi = table[2 * l + 1];
  while (lo < hi) {
    let mid = (lo + hi) / 2;
    let t = 2 * (at + mid);
    if (u64Lt(key, vec2<u32>(thr[t], thr[t + 1]))) { hi = mid; } else { lo = mid + 1; }
  }
  out[i] = u32(table[2 * l] + lo);
}
`;
