import { type Node } from '@nibble/ir';
import { convShape, type Geometry } from '@nibble/quant';
import { type CompileContext, channelParams, type PlannedValue, sizeOf } from '../plan';
import type { ResolvedWeight } from '@nibble/quant';
import { emitIntegerConv } from './conv-integer';

export { type Geometry, outExtent } from '@nibble/quant';

/**
 * Emit a conv layer: codes whose groups each have one input scale run the
 * integer kernels (conv-integer.ts); other codes input and integer weights
 * run convCodes (int32 sums per segment of input channels with equal scale,
 * segments combined in float64: exact under per-channel input scales);
 * anything else runs convReal (float64). Weight levels are [O, Cg, KH, KW]. The output is a
 * real value [O, OH, OW].
 */
export function emitLayer(ctx: CompileContext, node: Node, x: PlannedValue, w: ResolvedWeight, bias: Float64Array | undefined, geo: Geometry, outShape?: number[]): PlannedValue {
  const { C, H, W, O, Cg, KH, KW, OH, OW } = convShape(x.shape, w.shape, geo, (m, h) => ctx.fail(node, m, h));
  const G = geo.group;
  const Og = O / G;
  const R = Cg * KH * KW;
  const codes = x.kind === 'codes' && w.integer && !x.clamp;
  if (codes && !w.shift) {
    const fast = emitIntegerConv(ctx, node, x, w, bias, geo, { C, H, W, O, OH, OW }, outShape);
    if (fast) return fast;
  }
  const lanes = codes ? 4 : 2;
  const Op = Math.ceil(Og / lanes) * lanes;
  // Weights [G][R][Op]: for each reduction index r = (ic, ky, kx), the group's output channels side by side.
  const packed = codes ? new Int32Array(G * R * Op) : new Float64Array(G * R * Op);
  const sw = new Float64Array(G * Op);
  const bs = new Float64Array(G * Op);
  const shift = w.shift ? new Float64Array(G * Op) : undefined;
  for (let o = 0; o < O; o++) {
    const g = Math.floor(o / Og);
    const j = o % Og;
    for (let r = 0; r < R; r++) packed[(g * R + r) * Op + j] = w.levels[o * R + r];
    sw[g * Op + j] = w.scale[o];
    bs[g * Op + j] = bias ? bias[o] : 0;
    if (shift) shift[g * Op + j] = w.shift![o];
  }
  const pW = ctx.constant(packed, true);
  const pSw = ctx.constant(sw);
  const pB = ctx.constant(bs);
  const pShift = shift ? ctx.constant(shift) : 0;
  const y = ctx.define(node.outputs[0].name, { kind: 'real', shape: outShape ?? [O, OH, OW], channels: O, inner: OH * OW });
  const k = ctx.k;
  const dims = [KH, KW, geo.sh, geo.sw, geo.pt, geo.pl, geo.dh, geo.dw, OH, OW];
  if (codes) {
    const { scale, zeroPoint } = channelParams(x, C);
    const segEnd = new Uint8Array(C);
    for (let c = 0; c < C; c++) segEnd[c] = (c + 1) % Cg === 0 || scale[c + 1] !== scale[c] ? 1 : 0;
    const pZx = ctx.constant(zeroPoint);
    const pSx = ctx.constant(scale);
    const pSeg = ctx.constant(segEnd);
    ctx.scratch(C * KH * KW * 4);
    ctx.emit(node, 'convCodes', () => k.convCodes(x.buffer.offset, pZx, pSx, pSeg, C, H, W, pW, pSw, pB, pShift, O, G, Op, ...dims, ctx.scratchOffset, y.buffer.offset));
  } else {
    let src = x;
    if (x.kind === 'codes') src = dequantized(ctx, node, x);
    ctx.scratch(C * KH * KW * 8);
    ctx.emit(node, 'convReal', () => k.convReal(src.buffer.offset, C, H, W, pW, pSw, pB, pShift, O, G, Op, ...dims, ctx.scratchOffset, y.buffer.offset));
  }
  return y;
}

/** Codes dequantized into a float64 temporary by a step of their own (for kernels that read real values). */
export function dequantized(ctx: CompileContext, node: Node, x: PlannedValue): PlannedValue {
  const n = sizeOf(x.shape);
  const buffer = ctx.temporary(n);
  const pS = ctx.constant(x.scale!);
  const pZ = ctx.constant(x.zeroPoint!);
  const k = ctx.k;
  ctx.use(x);
  ctx.emit(node, 'dequantize', () => k.dequantize(x.buffer.offset, buffer.offset, x.channels, x.inner, pS, pZ));
  return { name: `${x.name}#real`, kind: 'real', shape: x.shape, buffer, channels: x.channels, inner: x.inner };
}
