import { constantTensor, type Node, type Value } from '@nibble/ir';
import { resolveWeight, type ResolvedWeight } from './qdq-weights';

/*
 * Readers of the QDQ ops' attributes and constant operands that every
 * integer backend (@nibble/backend-wasm, @nibble/backend-webgpu) decides
 * the same way: what the node means, or a reason why it is not supported,
 * reported through `fail` (each backend wraps it in its typed error).
 */

export type Fail = (message: string, hint?: string) => never;

/** Conv geometry (Gemm is a 1x1 conv on a 1x1 image). */
export interface Geometry {
  group: number;
  kh: number; kw: number;
  sh: number; sw: number;
  pt: number; pl: number; pb: number; pr: number;
  dh: number; dw: number;
}

export const POINTWISE: Geometry = { group: 1, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 0, pb: 0, pr: 0 };

export const outExtent = (n: number, k: number, s: number, d: number, p0: number, p1: number): number => Math.floor((n + p0 + p1 - d * (k - 1) - 1) / s) + 1;

/** A Conv node's weight, bias and geometry (2-D, explicit pads). */
export function convOperands(node: Node, rank: number, fail: Fail): { w: ResolvedWeight; bias?: Float64Array; geometry: Geometry } {
  if (rank !== 3) return fail(`only 2-D convolutions (input [N,C,H,W]); got a per-sample rank ${rank}`);
  const w = resolveWeight(node.inputs[1] ?? undefined, 0);
  if (!w || w.shape.length !== 4) return fail('the weight must be a constant [O, C/group, KH, KW] (float, or DequantizeLinear of an integer tensor)');
  const bias = node.inputs[2] ? constantTensor(node.inputs[2])?.toFloat64() : undefined;
  if (node.inputs[2] && !bias) return fail('the bias must be a constant');
  if (node.getString('auto_pad', 'NOTSET') !== 'NOTSET') return fail('auto_pad is not supported', 'write explicit pads (nibble convert does)');
  const [kh, kw] = node.getInts('kernel_shape', w.shape.slice(2));
  const [sh, sw] = node.getInts('strides', [1, 1]);
  const [dh, dw] = node.getInts('dilations', [1, 1]);
  const [pt, pl, pb, pr] = node.getInts('pads', [0, 0, 0, 0]);
  return { w, bias, geometry: { group: node.getInt('group', 1), kh, kw, sh, sw, dh, dw, pt, pl, pb, pr } };
}

/** A Gemm with a constant B as the weight of a 1x1 conv: levels [N, K, 1, 1] (output-major) and a bias per output. */
export function gemmOperands(node: Node, features: number, fail: Fail): { w: ResolvedWeight; bias?: Float64Array; N: number; K: number } {
  if (node.getInt('transA', 0) !== 0) return fail('transA=1 is not supported');
  if (node.getFloat('alpha', 1) !== 1 || node.getFloat('beta', 1) !== 1) return fail('alpha and beta other than 1 are not supported');
  const transB = node.getInt('transB', 0) === 1;
  const w = resolveWeight(node.inputs[1] ?? undefined, transB ? 0 : 1);
  if (!w || w.shape.length !== 2) return fail('B must be a constant matrix (float, or DequantizeLinear of an integer tensor)');
  const [N, K] = transB ? w.shape : [w.shape[1], w.shape[0]];
  if (features !== K) return fail(`A has ${features} features per sample, B expects ${K}`);
  const levels = transB ? w.levels : new Float64Array(N * K);
  if (!transB) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) levels[n * K + k] = w.levels[k * N + n];
  const cT = node.inputs[2] ? constantTensor(node.inputs[2]) : undefined;
  if (node.inputs[2] && !cT) return fail('C must be a constant');
  let bias: Float64Array | undefined;
  if (cT) {
    const c = cT.toFloat64();
    if (c.length !== 1 && c.length !== N) return fail(`C of ${c.length} values does not broadcast per output feature`);
    bias = c.length === N ? c : new Float64Array(N).fill(c[0]);
  }
  return { w: { ...w, shape: [N, K, 1, 1], axis: 0, levels }, bias, N, K };
}

/** The per-sample shape a Reshape by a constant shape that keeps the batch axis gives `shape`. */
export function reshapeTarget(node: Node, shape: readonly number[], fail: Fail): number[] {
  const t = node.inputs[1] ? constantTensor(node.inputs[1]) : undefined;
  if (!t) return fail('the shape must be a constant');
  const target = Array.from(t.toFloat64());
  if (target[0] !== 0 && target[0] !== -1 && target[0] !== 1) return fail(`shape [${target.join(',')}] does not keep the batch axis`);
  const per = target.slice(1).map((d, i) => (d === 0 ? shape[i] : d));
  const n = shape.reduce((a, b) => a * b, 1);
  const known = per.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out = per.map((d) => (d === -1 ? n / known : d));
  if (out.reduce((a, b) => a * b, 1) !== n) return fail(`cannot reshape [${shape.join(',')}] to [${target.join(',')}] per sample`);
  return out;
}

/** Clip's bounds: constant scalar inputs 1 and 2, or the old min/max attributes. */
export function clipBounds(node: Node, fail: Fail): [number, number] {
  const bound = (i: number, attr: string, dflt: number): number => {
    const v = node.inputs[i];
    if (!v) return node.getFloat(attr, dflt);
    const t = constantTensor(v);
    if (!t || t.size !== 1) return fail(`input ${i} must be a constant scalar`);
    return t.toFloat64()[0];
  };
  return [bound(1, 'min', -Infinity), bound(2, 'max', Infinity)];
}

/** Fails unless an AveragePool's one window covers the whole [C, H, W] image without pads (a global average). */
export function checkGlobalWindow(node: Node, shape: readonly number[], fail: Fail): void {
  if (shape.length !== 3) return fail('only [N,C,H,W] inputs are supported');
  const [, H, W] = shape;
  const [kh, kw] = node.getInts('kernel_shape', []);
  const pads = node.getInts('pads', [0, 0, 0, 0]);
  if (kh !== H || kw !== W || pads.some((p) => p !== 0) || node.getString('auto_pad', 'NOTSET') !== 'NOTSET') {
    return fail('only a window over the whole image (a global average) is supported');
  }
}

export interface QdqParams {
  channels: number;
  scale: Float64Array;
  zeroPoint: Int32Array;
  container: 'uint8' | 'uint4';
}

/** Scale and zero point of a QuantizeLinear/DequantizeLinear on a per-sample shape: per tensor, or per channel along axis 1. */
export function qdqParams(node: Node, sampleShape: readonly number[], fail: Fail): QdqParams {
  const s = constantTensor(node.inputs[1]);
  const z = constantTensor(node.inputs[2]);
  if (!s) return fail('the scale must be a constant');
  const dtype = z?.dtype ?? 'uint8';
  if (dtype !== 'uint8' && dtype !== 'uint4') return fail(`activation codes of ${dtype} are not supported (unsigned uint4/uint8 only)`);
  const scales = s.toFloat64();
  const zps = z ? z.toFloat64() : new Float64Array(scales.length);
  if (node.getInt('block_size', 0) !== 0) return fail('blocked quantization is not supported');
  const perAxis = scales.length > 1 || s.shape.length === 1;
  if (!perAxis) return { channels: 1, scale: Float64Array.of(scales[0]), zeroPoint: Int32Array.of(zps[0]), container: dtype };
  const rank = sampleShape.length + 1;
  const raw = node.getInt('axis', 1);
  const axis = raw < 0 ? raw + rank : raw;
  if (axis !== 1) return fail(`per-axis quantization on axis ${axis}; only the channel axis 1 is supported`);
  if (sampleShape[0] !== scales.length) return fail(`${scales.length} scales for ${sampleShape[0]} channels`);
  return { channels: scales.length, scale: Float64Array.from(scales), zeroPoint: Int32Array.from(zps), container: dtype };
}

/** What the backends know of integer codes: channels of `inner` elements each, a grid per channel, the codes that can occur. */
export interface CodesGrid {
  channels: number;
  inner: number;
  scale: Float64Array;
  zeroPoint: Int32Array;
  lo: Int32Array;
  hi: Int32Array;
}

/**
 * max(lo, min(hi, x)) on codes, when it is exact on the grid: each channel's
 * clamped levels land on levels, so it is a clamp of the codes to the
 * returned per-channel bounds; undefined when a bound falls between levels.
 */
export function clampOnGrid(x: CodesGrid, lo: number, hi: number): { lo: Int32Array; hi: Int32Array } | undefined {
  const C = x.channels;
  const newLo = new Int32Array(C);
  const newHi = new Int32Array(C);
  for (let c = 0; c < C; c++) {
    // A level's value as DequantizeLinear gives it (float32, ONNX's semantics): with a ReLU6 grid
    // of scale f32(0.4), 15 levels are 6.0000000894 in float64 but 6 in float32, so Clip(0, 6)
    // keeps the codes. (The float64 reference clips that level to 6 exactly: 9e-8 apart.)
    const value = (q: number): number => Math.fround((q - x.zeroPoint[c]) * x.scale[c]);
    let l = x.lo[c];
    let h = x.hi[c];
    while (l <= h && value(l) < lo) l++;
    while (h >= l && value(h) > hi) h--;
    // Levels below lo become lo: exact only if lo is the level l itself (likewise hi).
    if (l > x.lo[c] && !(l <= h && value(l) === lo)) return undefined;
    if (h < x.hi[c] && !(h >= l && value(h) === hi)) return undefined;
    newLo[c] = l;
    newHi[c] = h;
  }
  return { lo: newLo, hi: newHi };
}

/** round half to even, as the kernels' nearest(). */
const rint = (v: number): number => {
  const f = Math.floor(v);
  const d = v - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
};

/**
 * Codes onto another grid (a QuantizeLinear of codes): per channel l of L,
 * the code each code 0..255 becomes (the quantize kernels' float64
 * operations on the dequantize kernels' exact value), the bounds of the
 * codes that can then occur, and whether every code that occurs maps to
 * itself. Undefined when the channel layouts do not line up.
 */
export function codesOntoGrid(x: CodesGrid, p: QdqParams, n: number): { L: number; lut: Uint8Array; lo: Int32Array; hi: Int32Array; identity: boolean } | undefined {
  const L = Math.max(p.channels, x.channels);
  if ((p.channels !== 1 && p.channels !== L) || (x.channels !== 1 && x.channels !== L) || n % L !== 0) return undefined;
  if (x.channels === L && L > 1 && x.inner !== n / L) return undefined;
  const top = p.container === 'uint4' ? 15 : 255;
  const lut = new Uint8Array(L * 256);
  const lo = new Int32Array(p.channels).fill(top);
  const hi = new Int32Array(p.channels).fill(0);
  let identity = p.channels === x.channels;
  for (let l = 0; l < L; l++) {
    const ci = x.channels === 1 ? 0 : l;
    const co = p.channels === 1 ? 0 : l;
    for (let q = 0; q < 256; q++) {
      const v = (q - x.zeroPoint[ci]) * x.scale[ci];
      const r = Math.min(top, Math.max(0, rint(v / p.scale[co]) + p.zeroPoint[co]));
      lut[l * 256 + q] = r;
      if (q >= x.lo[ci] && q <= x.hi[ci]) {
        lo[co] = Math.min(lo[co], r);
        hi[co] = Math.max(hi[co], r);
        if (r !== q) identity = false;
      }
    }
  }
  return { L, lut, lo, hi, identity };
}

/** The codes' lo/hi bounds of a QuantizeLinear behind the lowering's Max/Min clamp (Math.round, as the plans compute them). */
export function clampedCodeBounds(p: QdqParams, clamp: { lo?: Float64Array; hi?: Float64Array }, fail: Fail): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(p.channels).fill(0);
  const hi = new Int32Array(p.channels).fill(p.container === 'uint4' ? 15 : 255);
  for (let c = 0; c < p.channels; c++) {
    const code = (v: number): number => Math.min(hi[c], Math.max(lo[c], Math.round(v / p.scale[c]) + p.zeroPoint[c]));
    if (clamp.lo) lo[c] = code(clamp.lo[clamp.lo.length === 1 ? 0 : c]);
    if (clamp.hi) hi[c] = code(clamp.hi[clamp.hi.length === 1 ? 0 : c]);
    if (clamp.lo && clamp.hi && (clamp.lo.length !== 1 && clamp.lo.length !== p.channels)) return fail('clamp bounds do not match the quantization axis');
  }
  return { lo, hi };
}

/** Per-channel parameters of codes expanded to `n` channels (a per-tensor value repeats its one channel); undefined when they do not map. */
export function expandChannels(x: Pick<CodesGrid, 'channels' | 'inner' | 'scale' | 'zeroPoint'>, n: number): { scale: Float64Array; zeroPoint: Int32Array } | undefined {
  if (x.channels === n) return { scale: x.scale, zeroPoint: x.zeroPoint };
  if (x.channels === 1) return { scale: new Float64Array(n).fill(x.scale[0]), zeroPoint: new Int32Array(n).fill(x.zeroPoint[0]) };
  if (n % x.channels === 0 && n / x.channels === x.inner) {
    // A per-channel value flattened: element j belongs to channel floor(j / inner).
    const scale = new Float64Array(n);
    const zeroPoint = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      scale[j] = x.scale[Math.floor(j / x.inner)];
      zeroPoint[j] = x.zeroPoint[Math.floor(j / x.inner)];
    }
    return { scale, zeroPoint };
  }
  return undefined;
}

/** Whether a QuantizeLinear (behind the lowering's Max/Min) is the only reader of its source and nothing between is fetched: its producer may write the codes itself. */
export function fusableQuantize(node: Node, keep: ReadonlySet<string>): boolean {
  let v = node.inputs[0];
  for (;;) {
    if (!v || v.uses.length !== 1 || keep.has(v.name)) return false;
    const p = v.producer;
    if (!p || (p.opType !== 'Max' && p.opType !== 'Min')) return true;
    v = p.inputs[0];
  }
}

/** A MaxPool's window, strides, pads and output extent on [C, H, W] (no ceil_mode, auto_pad, dilations or Indices output). */
export function maxPoolWindow(node: Node, shape: readonly number[], fail: Fail): { kh: number; kw: number; sh: number; sw: number; pt: number; pl: number; OH: number; OW: number } {
  if (shape.length !== 3) return fail('only 2-D pooling of an [N,C,H,W] value is supported');
  if (node.getInt('ceil_mode', 0) !== 0 || node.getString('auto_pad', 'NOTSET') !== 'NOTSET') return fail('ceil_mode and auto_pad are not supported');
  if (node.getInts('dilations', [1, 1]).some((d) => d !== 1)) return fail('dilations are not supported');
  if (node.outputs.length > 1 && node.outputs[1]) return fail('the Indices output is not supported');
  const [, H, W] = shape;
  const [kh, kw] = node.getInts('kernel_shape', []);
  const [sh, sw] = node.getInts('strides', [1, 1]);
  const [pt, pl, pb, pr] = node.getInts('pads', [0, 0, 0, 0]);
  return { kh, kw, sh, sw, pt, pl, OH: outExtent(H, kh, sh, 1, pt, pb), OW: outExtent(W, kw, sw, 1, pl, pr) };
}

/** The extents of a conv of input [C, H, W] (or a flat [K] as [K, 1, 1]) by weights [O, C/group, KH, KW], checked against the geometry. */
export function convShape(xShape: readonly number[], wShape: readonly number[], geo: Geometry, fail: Fail): { C: number; H: number; W: number; O: number; Cg: number; KH: number; KW: number; OH: number; OW: number } {
  const [C, H, W] = xShape.length === 3 ? xShape : [xShape.reduce((a, b) => a * b, 1), 1, 1];
  const [O, Cg, KH, KW] = wShape;
  const G = geo.group;
  if (C !== Cg * G || O % G !== 0) return fail(`input has ${C} channels for group ${G} and weights [${wShape.join(',')}]`);
  if (KH !== geo.kh || KW !== geo.kw) return fail(`kernel_shape [${geo.kh},${geo.kw}] differs from the weights' [${KH},${KW}]`);
  const OH = outExtent(H, KH, geo.sh, geo.dh, geo.pt, geo.pb);
  const OW = outExtent(W, KW, geo.sw, geo.dw, geo.pl, geo.pr);
  if (OH < 1 || OW < 1) return fail(`output would be ${OH}x${OW}`);
  return { C, H, W, O, Cg, KH, KW, OH, OW };
}

/**
 * The grid of codes [C_i, H, W] concatenated along the channels: one grid when every input is per
 * tensor on the same one (its code bounds the union), else each input's parameters on its own channels.
 */
export function concatenatedGrid(xs: readonly (CodesGrid & { shape: readonly number[]; container?: string })[], fail: Fail): CodesGrid {
  const C = xs.reduce((a, x) => a + x.shape[0], 0);
  const HW = xs[0].shape[1] * xs[0].shape[2];
  const first = xs[0];
  if (xs.every((x) => x.channels === 1 && x.scale[0] === first.scale[0] && x.zeroPoint[0] === first.zeroPoint[0] && x.container === first.container)) {
    return { channels: 1, inner: C * HW, scale: first.scale, zeroPoint: first.zeroPoint, lo: Int32Array.of(Math.min(...xs.map((x) => x.lo[0]))), hi: Int32Array.of(Math.max(...xs.map((x) => x.hi[0]))) };
  }
  const scale = new Float64Array(C);
  const zeroPoint = new Int32Array(C);
  const lo = new Int32Array(C);
  const hi = new Int32Array(C);
  let c0 = 0;
  for (const x of xs) {
    const n = x.shape[0];
    const p = expandChannels(x, n);
    if (!p) return fail(`an input has ${x.channels} quantization channels, which do not map onto its ${n}`);
    for (let c = 0; c < n; c++) {
      scale[c0 + c] = p.scale[c];
      zeroPoint[c0 + c] = p.zeroPoint[c];
      lo[c0 + c] = x.lo[x.channels === 1 ? 0 : c];
      hi[c0 + c] = x.hi[x.channels === 1 ? 0 : c];
    }
    c0 += n;
  }
  return { channels: C, inner: HW, scale, zeroPoint, lo, hi };
}

/**
 * A ConvTranspose whose kernel equals its stride (no pads, dilations, groups or output padding;
 * DBNet's 2x2 stride-2 upsampling head) on [C, H, W], as a 1x1 conv: every output pixel gets
 * exactly one tap of every input channel, so it is a 1x1 conv with O * KH * KW outputs, one per
 * (o, dy, dx) (row o2 = o * KH * KW + t takes tap t of output channel o), whose planes the
 * backends then scatter to their pixels (depthToSpace).
 */
export function convTransposeAsPointwise(node: Node, shape: readonly number[], fail: Fail): { w: ResolvedWeight; bias?: Float64Array; O: number; KH: number; KW: number } {
  if (shape.length !== 3) return fail('only 2-D transposed convolutions (input [N,C,H,W]) are supported');
  const w = resolveWeight(node.inputs[1] ?? undefined, 1);
  if (!w || w.shape.length !== 4) return fail('the weight must be a constant [C, O/group, KH, KW] (float, or DequantizeLinear of an integer tensor along axis 1)');
  const [Cw, O, KH, KW] = w.shape;
  const [sh, sw] = node.getInts('strides', [1, 1]);
  const [kh, kw] = node.getInts('kernel_shape', [KH, KW]);
  const plain = node.getInt('group', 1) === 1 && node.getInts('dilations', [1, 1]).every((d) => d === 1)
    && node.getInts('pads', [0, 0, 0, 0]).every((p) => p === 0) && node.getInts('output_padding', [0, 0]).every((p) => p === 0)
    && node.getString('auto_pad', 'NOTSET') === 'NOTSET' && node.getInts('output_shape', []).length === 0;
  if (!plain || kh !== KH || kw !== KW || sh !== KH || sw !== KW) return fail('only kernel = stride, without pads, dilations, groups, output padding or output_shape, is supported');
  const C = shape[0];
  if (Cw !== C) return fail(`the weight has ${Cw} input channels for an input of ${C}`);
  const bias = node.inputs[2] ? constantTensor(node.inputs[2])?.toFloat64() : undefined;
  if (node.inputs[2] && (!bias || bias.length !== O)) return fail('the bias must be a constant of one value per output channel');
  const KK = KH * KW;
  const O2 = O * KK;
  const levels = new Float64Array(O2 * C);
  for (let c = 0; c < C; c++) for (let o = 0; o < O; o++) for (let t = 0; t < KK; t++) levels[(o * KK + t) * C + c] = w.levels[(c * O + o) * KK + t];
  const rows = (v: Float64Array): Float64Array => Float64Array.from({ length: O2 }, (_, o2) => v[Math.floor(o2 / KK)]);
  const w2: ResolvedWeight = { shape: [O2, C, 1, 1], axis: 0, levels, scale: rows(w.scale), integer: w.integer, ...(w.shift ? { shift: rows(w.shift) } : {}) };
  return { w: w2, bias: bias && rows(bias), O, KH, KW };
}

/** A Concat of [C_i, H, W] values along the channels: the output's channels and each input's first word in it; fails for another axis or unequal planes. */
export function concatLayout(node: Node, shapes: readonly (readonly number[])[], fail: Fail): { C: number; H: number; W: number; offsets: number[] } {
  const rank = shapes[0].length + 1;
  const raw = node.getInt('axis', 1);
  if ((raw < 0 ? raw + rank : raw) !== 1) return fail('only the channel axis (1) is supported');
  const [, H, W] = shapes[0];
  if (shapes.some((s) => s.length !== 3 || s[1] !== H || s[2] !== W)) return fail('only [N,C,H,W] inputs of one height and width are supported');
  const offsets = shapes.map((_, i) => shapes.slice(0, i).reduce((a, s) => a + s[0] * H * W, 0));
  return { C: shapes.reduce((a, s) => a + s[0], 0), H, W, offsets };
}

/**
 * A Mul of a runtime value [C, H, W] by a runtime value [C, 1, 1] (the squeeze-and-excitation
 * scale): which input is the value (xi) and which the per-channel scale (si); undefined when the
 * node is not one (a constant operand, or operands of one size). `runtimeShape`: a runtime value's
 * per-sample shape, undefined for a constant.
 */
export function channelScaleOperands(node: Node, runtimeShape: (v: Value) => readonly number[] | undefined, fail: Fail): { xi: number; si: number } | undefined {
  const [a, b] = node.inputs;
  const sa = a ? runtimeShape(a) : undefined;
  const sb = b ? runtimeShape(b) : undefined;
  const size = (s: readonly number[]): number => s.reduce((x, y) => x * y, 1);
  if (!sa || !sb || size(sa) === size(sb)) return undefined;
  const [xi, si] = size(sa) > size(sb) ? [0, 1] : [1, 0];
  const [xs, ss] = xi === 0 ? [sa, sb] : [sb, sa];
  if (xs.length !== 3 || ss.length !== 3 || ss[0] !== xs[0] || ss[1] !== 1 || ss[2] !== 1) {
    return fail(`only a [C,H,W] value times a runtime [C,1,1] value broadcasts ([${xs.join(',')}] x [${ss.join(',')}])`);
  }
  return { xi, si };
}
