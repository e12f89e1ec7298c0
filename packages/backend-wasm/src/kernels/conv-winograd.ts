import type { Node } from '@nibble/ir';
import type { Geometry, ResolvedWeight } from '@nibble/quant';
import type { Buffer, CompileContext } from '../plan';
import { align } from '../wasm-module';
import { packedTaps, pairTiles } from './conv-integer';

/*
 * 3x3 stride-1 convs on codes by Winograd's F(2x2, 3x3) in integers
 * (assembly/winograd.ts): 16 multiply-adds per 2x2 output tile and input
 * channel instead of 36, the same int32 sums as the direct kernel (the
 * weights' transform is scaled by 4 to stay integer, and the output
 * transform divides it back exactly), so the epilogue and the codes are
 * those of taps+convGemm bit for bit. Used where the 16-bit operands and
 * the 32-bit sums provably hold their values, on outputs of at least 8x8
 * and inputs of at least 4 channels (a 1- or 3-channel stem wastes half a
 * channel pair and gains nothing on its few multiply-adds).
 */

/** Off: every conv takes the direct kernels (the spec compares the two). */
export const WINOGRAD = { enabled: true };

/** 2G for F(2, 3): the weight transform with its halves doubled. */
const G2 = [[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]];

/** U' = G2 g G2^T per (o, c): [16][O][C] integer levels, position xi = 4i + j. */
function transformWeights(levels: Float64Array, O: number, C: number): Float64Array[] {
  const u = Array.from({ length: 16 }, () => new Float64Array(O * C));
  const t = new Float64Array(12);
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      const g = levels.subarray((o * C + c) * 9, (o * C + c + 1) * 9);
      for (let i = 0; i < 4; i++) for (let b = 0; b < 3; b++) t[i * 3 + b] = G2[i][0] * g[b] + G2[i][1] * g[3 + b] + G2[i][2] * g[6 + b];
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) u[i * 4 + j][o * C + c] = t[i * 3] * G2[j][0] + t[i * 3 + 1] * G2[j][1] + t[i * 3 + 2] * G2[j][2];
    }
  }
  return u;
}

interface Dims { C: number; H: number; W: number; O: number; OH: number; OW: number }

/**
 * Emit the Winograd conv if it applies (true), writing what `mode` says when the step runs (the
 * conv's float64 output, or the codes of a fused QuantizeLinear) through the epilogue records at pEp.
 * xHi: the largest code of the input.
 */
export function emitWinograd(ctx: CompileContext, node: Node, x: { buffer: Buffer }, w: ResolvedWeight, zeroPoint: Int32Array, geo: Geometry, d: Dims, xHi: number, pEp: number, mode: { out: Buffer; codes: number }): boolean {
  const { C, H, W, O, OH, OW } = d;
  const [, Cg, KH, KW] = w.shape;
  if (!WINOGRAD.enabled || geo.group !== 1 || Cg !== C || KH !== 3 || KW !== 3 || geo.sh !== 1 || geo.sw !== 1 || geo.dh !== 1 || geo.dw !== 1 || OH < 8 || OW < 8 || C < 4) return false;
  const u = transformWeights(w.levels, O, C);
  // Every operand an int16, every sum an int32: V in [-4 xHi, 4 xHi]; a sum gathers 9 positions' products.
  const vMax = 4 * xHi;
  for (let o = 0; o < O; o++) {
    let bound = 0;
    for (let xi = 0; xi < 16; xi++) {
      for (let c = 0; c < C; c++) {
        const a = Math.abs(u[xi][o * C + c]);
        if (a > 32767) return false;
        bound += a * vMax;
      }
    }
    if (bound > 2 ** 31 - 1) return false;
  }
  const C2 = (C + 1) >> 1;
  const TH = Math.ceil(OH / 2);
  const TW = Math.ceil(OW / 2);
  const TW8 = Math.ceil(TW / 8) * 8;
  const T8 = Math.ceil((TH * TW + 8) / 8) * 8;
  const PH = 2 * TH + 2;
  const PW = align(Math.max(2 * TW8 + 18, W + geo.pl + 16));
  // 4-bit weights stay 4-bit in memory (two per byte and an offset per output channel) and are
  // transformed into scratch by each call (O x C kernels: little next to the conv); wider ones
  // keep their transformed int16 pairs as constants.
  const nib = packedTaps(w.levels, O, C * 9);
  let pW: number;
  let pOffs = 0;
  if (nib) {
    pW = ctx.constant(nib.packed, true);
    pOffs = ctx.constant(new Uint8Array(nib.offsets.buffer), true);
  } else {
    const tiles = u.map((lv) => pairTiles(lv, O, C));
    const all = new Int32Array(tiles.reduce((a, t) => a + t.length, 0));
    tiles.reduce((at, t) => (all.set(t, at), at + t.length), 0);
    pW = ctx.constant(all, true);
  }
  const pZx = ctx.constant(zeroPoint);
  // Scratch: [padded planes] [V: 16 x C2 x T8 int16 pairs] [M: 16 x O x T8 int32] [U' pairs, when transformed per call].
  const vAt = align(C * PH * PW + 32);
  const mAt = vAt + align(16 * C2 * T8 * 4);
  const uAt = mAt + align(16 * O * T8 * 4 + 64);
  ctx.scratch(uAt + (nib ? 16 * Math.ceil(O / 4) * C2 * 16 : 0));
  const k = ctx.k;
  ctx.emit(node, 'winogradConv', () => {
    const s0 = ctx.scratchOffset;
    if (nib) k.winogradWeights(pW, pOffs, O, C, s0 + uAt);
    k.padPlanesCodes(x.buffer.offset, pZx, C, H, W, geo.pt, geo.pl, PH, PW, s0);
    k.winogradInput(s0, C, PH, PW, TH, TW, T8, s0 + vAt);
    k.winogradGemm(s0 + vAt, C, T8, nib ? s0 + uAt : pW, O, s0 + mAt);
    k.winogradOutput(s0 + mAt, O, T8, TH, TW, OH, OW, pEp, mode.out.offset, mode.codes);
  });
  return true;
}
