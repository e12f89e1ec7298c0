/*
 * The WGSL of every kernel. Shapes come from a uniform block of 24 int32
 * parameters (p(i)), so a pipeline depends only on the kernel and its
 * variant flags and is compiled once per device (the cache key is the
 * variant's name, never a shape). Every buffer holds 32-bit words: codes
 * one per word (u32), int32 accumulators, float32 network inputs.
 *
 * Everything here is integer arithmetic or float32 comparison: WGSL has no
 * float64, so the float64 rescales of the WebAssembly backend are turned,
 * on the host, into tables over the integer (or float32) domain: per
 * channel, the sorted thresholds at which the output code steps up
 * (plan.ts), or the output code of each input code (pair).
 */

export const PARAMS = 24;
export const WORKGROUP = 64;

export const HEADER = `
struct Params { v: array<vec4<i32>, ${PARAMS / 4}> }
@group(0) @binding(0) var<uniform> u: Params;
fn p(i: u32) -> i32 { return u.v[i / 4u][i % 4u]; }
`;

/** The code of value v: base + the number of the channel's T sorted thresholds at or below v (binary search). */
const STEP_FN = (t: 'i32' | 'f32') => `
fn stepCode(v: ${t}, at: i32, base: i32, count: i32) -> u32 {
  var lo = 0;
  var hi = count;
  while (lo < hi) {
    let mid = (lo + hi) / 2;
    if (thr[at + mid] <= v) { lo = mid + 1; } else { hi = mid; }
  }
  return u32(base + lo);
}
`;

export interface ConvVariant {
  /** Bits per stored weight: 4 (eight per word) or 8 (four per word). */
  wbits: 4 | 8;
  /** Use dot4U8Packed (WGSL packed_4x8_integer_dot_product). */
  dot4: boolean;
  /** Write codes through thresholds, or the int32 accumulator. */
  codes: boolean;
  /** Output channels per invocation (4 where a group's outputs come in fours, else 1). */
  lanes: 1 | 4 | 8;
}

export const convKey = (v: ConvVariant): string => `conv/w${v.wbits}/${v.dot4 ? 'dot4' : 'i32'}/${v.codes ? 'codes' : 'acc'}/x${v.lanes}`;

/**
 * Conv (dense, grouped, depthwise; Gemm as a 1x1 conv): one invocation per
 * output pixel (x) and `lanes` output channels of one group (y), the input
 * taps read once for all of them. Weights are stored per output channel as
 * unsigned levels minus the channel's offset, 4 or 8 bits each, unpacked
 * with masks and shifts. With n = level - offset and padded taps holding
 * the input's zero point zx (so they contribute nothing):
 *
 *   A = sum (x - zx) * level = sum x * n + offset * sum x - corr,  corr = sum zx * level
 *
 * all exact integer arithmetic (the WebAssembly kernels' A). In a 4-bit
 * word, taps r..r+3 sit in the low nibbles of its bytes and r+4..r+7 in the
 * high nibbles, so one mask gives four unsigned bytes for dot4U8Packed
 * against four taps packed as bytes (codes are at most 255).
 *
 * params: C H W O OH OW KH KW SH SW PT PL DH DW Cg Og R WPO TMAX
 */
/**
 * The conv shaders' opening (params as convShader's): the image and window shape, output pixel
 * `pix`, first output channel `o0` (of `lanes` from gid.y), its group's first input channel `c0`,
 * and the window's top-left tap (iy0, ix0).
 */
export const convPrologue = (lanes: number): string => `let H = p(1);
  let W = p(2);
  let OW = p(5);
  let P = p(4) * OW;
  let pix = i32(gid.x);
  let o0 = i32(gid.y) * ${lanes};
  if (pix >= P || o0 >= p(3)) { return; }
  let Cg = p(14);
  let KH = p(6);
  let KW = p(7);
  let c0 = (o0 / p(15)) * Cg;
  let iy0 = (pix / OW) * p(8) - p(10);
  let ix0 = (pix % OW) * p(9) - p(11);`;

export function convShader(v: ConvVariant): string {
  const L = Array.from({ length: v.lanes }, (_, t) => t);
  const perWord = v.wbits === 4 ? 8 : 4;
  const log = v.wbits === 4 ? 3 : 2;
  const load = L.map((t) => `wd${t} = w[(o0 + ${t}) * wpo + i32(r >> ${log}u)];`).join(' ');
  let tap: string;
  if (v.dot4) {
    const half = v.wbits === 4 ? '(((r >> 2u) & 1u) << 2u)' : '0u';
    const mask = v.wbits === 4 ? '0x0F0F0F0Fu' : '0xFFFFFFFFu';
    tap = `xp |= xv << ((r & 3u) << 3u);
        if ((r & 3u) == 3u || r + 1u == R) {
          let h = ${half};
          ${L.map((t) => `s${t} += dot4U8Packed(xp, (wd${t} >> h) & ${mask});`).join('\n          ')}
          sx += dot4U8Packed(xp, 0x01010101u);
          xp = 0u;
        }`;
  } else {
    const shift = v.wbits === 4 ? '((r & 3u) << 3u) | (((r >> 2u) & 1u) << 2u)' : '(r & 3u) << 3u';
    const mask = v.wbits === 4 ? '0xFu' : '0xFFu';
    tap = `let sh = ${shift};
        ${L.map((t) => `s${t} += xv * ((wd${t} >> sh) & ${mask});`).join('\n        ')}
        sx += xv;`;
  }
  const store = L.map((t) => `if (o0 + ${t} < p(3)) {
    let o = o0 + ${t};
    let A = i32(s${t}) + chan[4 * o] * i32(sx) - chan[4 * o + 1];
    ${v.codes ? 'out[o * P + pix] = stepCode(A, o * p(18), chan[4 * o + 2], chan[4 * o + 3]);' : 'out[o * P + pix] = A;'}
  }`).join('\n  ');
  return `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> zx: array<i32>;
@group(0) @binding(3) var<storage, read> w: array<u32>;
@group(0) @binding(4) var<storage, read> chan: array<i32>;
@group(0) @binding(5) var<storage, read> thr: array<i32>;
@group(0) @binding(6) var<storage, read_write> out: array<${v.codes ? 'u32' : 'i32'}>;
${STEP_FN('i32')}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  ${convPrologue(v.lanes)}
  let wpo = p(17);
  let R = u32(p(16));
  let DH = p(12);
  let DW = p(13);
  ${L.map((t) => `var s${t} = 0u;\n  var wd${t} = 0u;`).join('\n  ')}
  var sx = 0u;
  var xp = 0u;
  var r = 0u;
  for (var c = 0; c < Cg; c++) {
    let zc = u32(zx[c0 + c]);
    let plane = (c0 + c) * H;
    for (var ky = 0; ky < KH; ky++) {
      let iy = iy0 + ky * DH;
      let rowOk = iy >= 0 && iy < H;
      let row = (plane + iy) * W;
      for (var kx = 0; kx < KW; kx++) {
        let ix = ix0 + kx * DW;
        var xv = zc;
        if (rowOk && ix >= 0 && ix < W) { xv = x[row + ix]; }
        if ((r & ${perWord - 1}u) == 0u) { ${load} }
        ${tap}
        r += 1u;
      }
    }
  }
  ${store}
}
`;
}

/**
 * Threshold requantization of int32 (accumulators, pooled sums) or float32
 * (the network input) values: element i of channel l = (i / inner) % L.
 * params: n inner L TMAX; meta: base, count per channel.
 */
export function thresholdShader(t: 'i32' | 'f32'): string {
  return `${HEADER}
@group(0) @binding(1) var<storage, read> src: array<${t}>;
@group(0) @binding(2) var<storage, read> table: array<i32>;
@group(0) @binding(3) var<storage, read> thr: array<${t}>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;
${STEP_FN(t)}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = i32(gid.x) + i32(gid.y) * ${WORKGROUP} * 65535;
  if (i >= p(0)) { return; }
  let l = (i / p(1)) % p(2);
  out[i] = stepCode(src[i], l * p(3), table[2 * l], table[2 * l + 1]);
}
`;
}

/** Codes to codes by a table per channel (256 entries each): requantization onto another grid, clamps on the grid. params: n inner L */
export const MAP_SHADER = `${HEADER}
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> lut: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = i32(gid.x) + i32(gid.y) * ${WORKGROUP} * 65535;
  if (i >= p(0)) { return; }
  let l = (i / p(1)) % p(2);
  out[i] = lut[l * 256 + i32(src[i])];
}
`;

/** Two codes to one by a table per channel [L][NA][NB] (residual adds). params: n inner L NA NB */
export const PAIR_SHADER = `${HEADER}
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read> lut: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = i32(gid.x) + i32(gid.y) * ${WORKGROUP} * 65535;
  if (i >= p(0)) { return; }
  let l = (i / p(1)) % p(2);
  out[i] = lut[(l * p(3) + i32(a[i])) * p(4) + i32(b[i])];
}
`;

/** MaxPool of codes; a window of pads only gives 255, as the WebAssembly kernel's u8 store of -1. params: C H W KH KW SH SW PT PL OH OW */
export const MAX_POOL_SHADER = `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let P = p(9) * p(10);
  let pix = i32(gid.x);
  let c = i32(gid.y);
  if (pix >= P || c >= p(0)) { return; }
  let oy = pix / p(10);
  let ox = pix % p(10);
  var best = -1;
  for (var ky = 0; ky < p(3); ky++) {
    let iy = oy * p(5) - p(7) + ky;
    if (iy < 0 || iy >= p(1)) { continue; }
    for (var kx = 0; kx < p(4); kx++) {
      let ix = ox * p(6) - p(8) + kx;
      if (ix < 0 || ix >= p(2)) { continue; }
      best = max(best, i32(x[(c * p(1) + iy) * p(2) + ix]));
    }
  }
  out[c * P + pix] = u32(best) & 0xFFu;
}
`;

/** Sum over each channel's HW codes minus HW * zp (exact int32). params: C HW */
export const SUM_SHADER = `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> zp: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<i32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = i32(gid.x);
  if (c >= p(0)) { return; }
  let HW = p(1);
  var s = 0;
  for (var i = 0; i < HW; i++) { s += i32(x[c * HW + i]); }
  out[c] = s - HW * zp[c];
}
`;

/** Spatial padding of codes with each channel's fill code. params: C H W PT PL OH OW */
export const PAD_SHADER = `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> fill: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let P = p(5) * p(6);
  let pix = i32(gid.x);
  let c = i32(gid.y);
  if (pix >= P || c >= p(0)) { return; }
  let iy = pix / p(6) - p(3);
  let ix = pix % p(6) - p(4);
  var v = fill[c];
  if (iy >= 0 && iy < p(1) && ix >= 0 && ix < p(2)) { v = x[(c * p(1) + iy) * p(2) + ix]; }
  out[c * P + pix] = v;
}
`;

/** Nearest Resize of words (codes, int32 sums): a gather by the source row of each output row and the source column of each output column. params: C H W OH OW */
export const GATHER_SHADER = `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> rows: array<i32>;
@group(0) @binding(3) var<storage, read> cols: array<i32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let P = p(3) * p(4);
  let pix = i32(gid.x);
  let c = i32(gid.y);
  if (pix >= P || c >= p(0)) { return; }
  out[c * P + pix] = x[(c * p(1) + rows[pix / p(4)]) * p(2) + cols[pix % p(4)]];
}
`;

/**
 * A transposed conv whose kernel equals its stride, computed as a 1x1 conv with O * KH * KW
 * outputs: its planes [(o, dy, dx)][H][W] scattered to [O][H * KH][W * KW] (depthToSpace), one
 * invocation per element of a plane (y). params: O KH KW H W
 */
export const SCATTER_SHADER = `${HEADER}
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let KH = p(1);
  let KW = p(2);
  let HW = p(3) * p(4);
  let pix = i32(gid.x);
  let plane = i32(gid.y);
  if (pix >= HW || plane >= p(0) * KH * KW) { return; }
  let o = plane / (KH * KW);
  let t = plane % (KH * KW);
  let iy = pix / p(4);
  let ix = pix % p(4);
  out[((o * p(3) + iy) * KH + t / KW) * p(4) * KW + ix * KW + t % KW] = x[plane * HW + pix];
}
`;

/**
 * A shader of one invocation per element i < p(0) (the grid's x and y, as elementGroups), reading
 * u32 buffers `reads` (bindings 1..) and writing u32 buffer `out` (the next binding).
 */
function perElement(reads: string[], body: string): string {
  const bindings = reads.map((r, j) => `@group(0) @binding(${j + 1}) var<storage, read> ${r}: array<u32>;`).join('\n');
  return `${HEADER}
${bindings}
@group(0) @binding(${reads.length + 1}) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = i32(gid.x) + i32(gid.y) * ${WORKGROUP} * 65535;
  if (i >= p(0)) { return; }
  ${body}
}
`;
}

/** Words into a part of a larger buffer (Concat), each ANDed with a mask (0: zeros in that part). params: n offset mask */
export const COPY_SHADER = perElement(['x'], 'out[p(1) + i] = x[i] & u32(p(2));');

/** One word per channel repeated over the channel's elements. params: n inner */
export const BROADCAST_SHADER = perElement(['x'], 'out[i] = x[i / p(1)];');

/**
 * Codes scaled per channel by a runtime value that is a function of one code per channel (the
 * squeeze-and-excitation gate): out = lut[l][s[c]][x], c = i / inner, l = c % L. params: n inner L NX NS
 */
export const CHANNEL_PAIR_SHADER = perElement(['x', 's', 'lut'], 'let c = i / p(1);\n  out[i] = lut[((c % p(2)) * p(4) + i32(s[c])) * p(3) + i32(x[i])];');
