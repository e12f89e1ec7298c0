import type { Node } from '@nibble/ir';
import { requantizeFloatParams } from '@nibble/quant';
import { type Buffer, type CompileContext, channelParams, type OutputGrid, type PlannedValue } from '../plan';
import type { ResolvedWeight } from '@nibble/quant';
import { align } from '../wasm-module';
import { emitWinograd } from './conv-winograd';
import type { Geometry } from './layer';

/*
 * The integer fast path of a conv on codes: int32 sums of codes times
 * weight levels (8 multiply-adds per instruction, assembly/conv-gemm.ts and
 * conv-depthwise.ts), then per output one float64 rescale, the same
 * operations in the same order as the per-channel kernel convCodes, so the
 * values and codes are bit-identical to it. It applies where each group's
 * input channels share one scale: a per-tensor input (target `wasm`), or a
 * depthwise conv (one channel per group). When a QuantizeLinear (behind
 * the lowering's Max/Min clamp) is the conv output's only reader, the conv
 * writes that QuantizeLinear's codes itself and the float64 output is never
 * materialised.
 */

/** Bytes of one epilogue record (assembly/epilogue.ts): corr, zo, lo, hi (i32), m, c (f64). */
const EP_BYTES = 32;

interface Dims { C: number; H: number; W: number; O: number; OH: number; OW: number }

/**
 * Epilogue records for O outputs: corr, and t = A * m + c with m = sx * sw and c = bias (the
 * layer's float64 output), or, with the grid q of a fused QuantizeLinear, m = sx * sw / so and
 * c = bias / so, the codes round(t) + zo clamped to [lo, hi].
 */
function epilogue(O: number, corr: Int32Array, sx: Float64Array, sw: Float64Array, bias: Float64Array | undefined, q?: OutputGrid): Uint8Array {
  const bytes = new Uint8Array(O * EP_BYTES);
  const dv = new DataView(bytes.buffer);
  for (let o = 0; o < O; o++) {
    const at = o * EP_BYTES;
    const ch = q && q.channels > 1 ? o : 0;
    const so = q ? q.scale[ch] : 1;
    dv.setInt32(at, corr[o], true);
    if (q) {
      dv.setInt32(at + 4, q.zeroPoint[ch], true);
      dv.setInt32(at + 8, q.lo[ch], true);
      dv.setInt32(at + 12, q.hi[ch], true);
    }
    // The requantization @nibble/quant defines (requantizeFloat); so = 1 gives the real output.
    const { m, c } = requantizeFloatParams(sx[o], sw[o], bias ? bias[o] : 0, so);
    dv.setFloat64(at + 16, m, true);
    dv.setFloat64(at + 24, c, true);
  }
  return bytes;
}

/** Weight levels [O][R] as int16 pairs in tiles of 4 outputs: [ceil(O/4)][ceil(R/2)][4] (assembly/conv-gemm.ts). */
export function pairTiles(levels: Float64Array, O: number, R: number): Int32Array {
  const R2 = (R + 1) >> 1;
  const out = new Int32Array(Math.ceil(O / 4) * R2 * 4);
  for (let o = 0; o < O; o++) {
    for (let j = 0; j < R2; j++) {
      const a = levels[o * R + 2 * j];
      const b = 2 * j + 1 < R ? levels[o * R + 2 * j + 1] : 0;
      out[((o >> 2) * R2 + j) * 4 + (o & 3)] = (a & 0xffff) | (b << 16);
    }
  }
  return out;
}

/**
 * The same tiles with 4 bits per weight (assembly/unpack.ts): each output channel's levels minus
 * its offset (its smallest level, or 0 if smaller: the padding of an odd R is 0) must lie in
 * 0..15, as 4-bit weights always do; undefined otherwise.
 */
export function packedPairTiles(levels: Float64Array, O: number, R: number): { packed: Uint8Array; offsets: Int8Array } | undefined {
  const R2 = (R + 1) >> 1;
  const O4 = Math.ceil(O / 4);
  const offsets = new Int8Array(O4 * 4);
  for (let o = 0; o < O; o++) {
    let lo = 0, hi = 0;
    for (let r = 0; r < R; r++) {
      lo = Math.min(lo, levels[o * R + r]);
      hi = Math.max(hi, levels[o * R + r]);
    }
    if (hi - lo > 15) return undefined;
    offsets[o] = lo;
  }
  const packed = new Uint8Array(O4 * R2 * 4);
  for (let o = 0; o < O; o++) {
    for (let j = 0; j < R2; j++) {
      const a = levels[o * R + 2 * j] - offsets[o];
      const b = (2 * j + 1 < R ? levels[o * R + 2 * j + 1] : 0) - offsets[o];
      packed[((o >> 2) * R2 + j) * 4 + (o & 3)] = a | (b << 4);
    }
  }
  return { packed, offsets };
}

/** Depthwise taps [C][KK] with 4 bits each (tap t of channel c in byte c * ceil(KK/2) + t/2), offsets (int8) per channel; undefined if a channel spans more than 16 levels. */
export function packedTaps(levels: Float64Array, C: number, KK: number): { packed: Uint8Array; offsets: Int8Array } | undefined {
  const KB = (KK + 1) >> 1;
  const offsets = new Int8Array(C);
  const packed = new Uint8Array(C * KB);
  for (let c = 0; c < C; c++) {
    const taps = levels.subarray(c * KK, (c + 1) * KK);
    const lo = Math.min(...taps);
    if (Math.max(...taps) - lo > 15 || lo < -128 || lo > 127) return undefined;
    offsets[c] = lo;
    taps.forEach((v, t) => { packed[c * KB + (t >> 1)] |= (v - lo) << (4 * (t & 1)); });
  }
  return { packed, offsets };
}

/**
 * Emit the integer conv if it applies (else undefined: the caller runs the
 * general kernels). x: codes [C, H, W]; w: integer levels [O, C/G, KH, KW] without a shift.
 */
export function emitIntegerConv(ctx: CompileContext, node: Node, x: PlannedValue, w: ResolvedWeight, bias: Float64Array | undefined, geo: Geometry, d: Dims, outShape: number[] | undefined): PlannedValue | undefined {
  const { C, H, W, O, OH, OW } = d;
  const [, Cg, KH, KW] = w.shape;
  const G = geo.group;
  const { scale, zeroPoint } = channelParams(x, C);
  const depthwise = G === C && O === C && Cg === 1 && geo.dh === 1 && geo.dw === 1 && geo.sh <= 2 && geo.sw <= 2;
  const single = G === 1 && scale.every((s) => s === scale[0]);
  if (!depthwise && !single) return undefined;
  const R = Cg * KH * KW;
  const KK = KH * KW;
  const corr = new Int32Array(O);
  for (let o = 0; o < O; o++) {
    let s = 0;
    const c0 = Math.floor(o / (O / G)) * Cg;
    for (let r = 0; r < R; r++) s += zeroPoint[c0 + Math.floor(r / KK)] * w.levels[o * R + r];
    corr[o] = s;
  }
  // The input scale of each output's group (depthwise: its channel's; else the one scale).
  const sxOut = Float64Array.from({ length: O }, (_, o) => scale[Math.floor(o / (O / G)) * Cg]);
  const records = epilogue(O, corr, sxOut, w.scale, bias);
  const pEp = ctx.constant(records);
  const y = ctx.define(node.outputs[0].name, { kind: 'real', shape: outShape ?? [O, OH, OW], channels: O, inner: OH * OW });
  // Where the step writes: the float64 output, or the codes of a fused QuantizeLinear.
  const mode: { out: Buffer; codes: number } = { out: y.buffer, codes: 0 };
  const stepIndex = ctx.steps.length;
  y.fuseQuantize = (q, into) => {
    new Uint8Array(ctx.k.memory.buffer, pEp, records.byteLength).set(epilogue(O, corr, sxOut, w.scale, bias, q));
    mode.out = into;
    mode.codes = 1;
    into.def = stepIndex;
    y.buffer.bytes = 0;
    return true;
  };
  const k = ctx.k;
  const P = OH * OW;
  if (depthwise) {
    const nib = packedTaps(w.levels, C, KK);
    const pW = ctx.constant(nib ? nib.packed : Int32Array.from(w.levels), true);
    const pOff = nib ? ctx.constant(new Uint8Array(nib.offsets.buffer), true) : 0;
    const pZx = ctx.constant(zeroPoint);
    // int16 sums suffice when no channel's largest code times its sum of |levels| exceeds 32767.
    let narrow = 1;
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let t = 0; t < KK; t++) s += Math.abs(w.levels[c * KK + t]);
      const top = x.hi ? x.hi[x.channels === 1 ? 0 : c] : 255;
      if (s * top > 32767) narrow = 0;
    }
    // Scratch: the unpacked taps (when packed), then the padded plane.
    const tapsBytes = nib ? align(C * KK * 4) : 0;
    ctx.scratch(tapsBytes + k.depthwisePadBytes(KH, KW, geo.sh, geo.sw, OH, OW) + 32);
    ctx.emit(node, 'convDepthwise', () => {
      if (nib) k.unpackTaps(pW, pOff, C, KK, ctx.scratchOffset);
      const taps = nib ? ctx.scratchOffset : pW;
      k.convDepthwise(x.buffer.offset, pZx, C, H, W, taps, KH, KW, geo.sh, geo.sw, geo.pt, geo.pl, OH, OW, ctx.scratchOffset + tapsBytes, pEp, mode.out.offset, mode.codes, narrow);
    });
    return y;
  }
  // 3x3 stride 1: Winograd's F(2x2, 3x3) in integers, the same sums with 16/36 of the multiply-adds.
  const xHi = x.hi ? Math.max(...x.hi) : 255;
  if (emitWinograd(ctx, node, x, w, zeroPoint, geo, d, xHi, pEp, mode)) return y;
  const nib = packedPairTiles(w.levels, O, R);
  const pW = ctx.constant(nib ? nib.packed : pairTiles(w.levels, O, R), true);
  const pOff = nib ? ctx.constant(new Uint8Array(nib.offsets.buffer), true) : 0;
  const O4 = Math.ceil(O / 4);
  const R2 = (R + 1) >> 1;
  const direct = KH === 1 && KW === 1 && geo.sh === 1 && geo.sw === 1 && geo.pt === 0 && geo.pl === 0 && OH === H && OW === W;
  // Other convs read their taps from the input's planes padded with the zero point (assembly/conv-gemm.ts pairTaps).
  const PH = (OH - 1) * geo.sh + (KH - 1) * geo.dh + 1;
  const PW = k.tapPlaneWidth(KW, geo.sw, geo.dw, OW);
  // Scratch: [unpacked weight tiles O4 x R2 x 16 (when packed)] [padded planes C x PH x PW] [rows by pairs R2 x 2P] [slack read and written past the end].
  const planesAt = nib ? align(O4 * R2 * 16) : 0;
  const pairsAt = planesAt + (direct ? 0 : align(C * PH * PW + 16));
  ctx.scratch(pairsAt + 2 * P * R2 + 64);
  const pZx = ctx.constant(zeroPoint);
  ctx.emit(node, direct ? 'convGemm' : 'taps+convGemm', () => {
    const s0 = ctx.scratchOffset;
    if (nib) k.unpackPairTiles(pW, pOff, O4, R2, s0);
    // The rows of X: the input channels themselves (1x1, stride 1), else the taps of the padded planes.
    if (direct) k.pairRows(x.buffer.offset, H * W, R, P, s0 + pairsAt);
    else {
      k.padPlanesCodes(x.buffer.offset, pZx, C, H, W, geo.pt, geo.pl, PH, PW, s0 + planesAt);
      k.pairTaps(s0 + planesAt, C, PH, PW, KH, KW, geo.sh, geo.sw, geo.dh, geo.dw, OH, OW, s0 + pairsAt);
    }
    k.convGemm(s0 + pairsAt, R, P, nib ? s0 : pW, O, pEp, mode.out.offset, mode.codes);
  });
  return y;
}
