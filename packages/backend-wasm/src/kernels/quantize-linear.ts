import type { Node } from '@nibble/ir';
import { clampedCodeBounds, codesOntoGrid, type CodesGrid, fusableQuantize, tableOntoGrid } from '@nibble/quant';
import { registerKernel } from '../registry';
import { type CompileContext, type PlannedValue, sizeOf } from '../plan';
import { dequantized } from './layer';
import { quantParams } from './params';

/**
 * QuantizeLinear: codes = clamp(round_half_even(y / s) + zp)
 * to the container, or to each channel's own levels where the lowering put
 * Max/Min in front (rounding then clamping to the levels is what clamping to
 * the levels' float bounds then rounding gives: lower.ts).
 */

/**
 * Codes to codes: the table of what each code becomes (@nibble/quant codesOntoGrid), per channel.
 * When every code that can occur maps to itself the output shares the input's bytes. False when
 * the channel layouts do not line up.
 */
function mapOrAlias(node: Node, ctx: CompileContext, x: PlannedValue): boolean {
  const p = quantParams(node, ctx, x.shape);
  const n = sizeOf(x.shape);
  const map = codesOntoGrid(x as CodesGrid, p, n);
  if (!map) return false;
  const { L, lut, lo, hi, identity } = map;
  const init = { kind: 'codes' as const, shape: x.shape, channels: p.channels, inner: n / p.channels, scale: p.scale, zeroPoint: p.zeroPoint, lo, hi, container: p.container, asCodes: true };
  if (identity) {
    ctx.define(node.outputs[0].name, { ...init, buffer: x.buffer });
    return true;
  }
  const y = ctx.define(node.outputs[0].name, init);
  const pLut = ctx.constant(lut);
  const small = x.hi!.every((h) => h < 16) ? 1 : 0;
  const k = ctx.k;
  ctx.emit(node, 'mapCodes', () => k.mapCodes(x.buffer.offset, y.buffer.offset, L, n / L, pLut, small));
  return true;
}

/**
 * A table value (an elementwise function of codes, table.ts) onto a grid: the code each source
 * code becomes, as onnxruntime computes it (the lowering's Max/Min in float32, then float32
 * division, half to even), so one mapCodes step from the source codes. False when the channel
 * layouts do not line up.
 */
function quantizeTable(node: Node, ctx: CompileContext, x: PlannedValue): boolean {
  const src = x.clamp ? x.clamp.source : x;
  const t = src.table!;
  const codes = t.source;
  const p = quantParams(node, ctx, x.shape);
  const n = sizeOf(x.shape);
  // The codes each source code becomes (@nibble/quant tableOntoGrid, shared with the WebGPU backend).
  const map = tableOntoGrid(t, { channels: codes.channels, lo: codes.lo!, hi: codes.hi! }, p, x.clamp, x.shape);
  if (!map) return false;
  const { L, lut, lo, hi } = map;
  const y = ctx.define(node.outputs[0].name, { kind: 'codes', shape: x.shape, channels: p.channels, inner: n / p.channels, scale: p.scale, zeroPoint: p.zeroPoint, lo, hi, container: p.container, asCodes: true });
  const pLut = ctx.constant(lut);
  const small = codes.hi!.every((h) => h < 16) ? 1 : 0;
  const k = ctx.k;
  ctx.use(codes);
  ctx.emit(node, 'mapCodes', () => k.mapCodes(codes.buffer.offset, y.buffer.offset, L, n / L, pLut, small));
  return true;
}

registerKernel({
  opType: 'QuantizeLinear',
  compile(node, ctx) {
    const lazy = ctx.inputLazy(node, 0);
    if ((lazy.clamp ? lazy.clamp.source : lazy).table && quantizeTable(node, ctx, lazy)) return;
    const given = ctx.input(node, 0);
    // Codes onto another grid (a Pad's or MaxPool's codes to the next grid): a table per channel, or no step at all.
    if (given.kind === 'codes' && mapOrAlias(node, ctx, given)) return;
    const x = given.kind === 'codes' ? dequantized(ctx, node, given) : given;
    const p = quantParams(node, ctx, x.shape);
    const n = sizeOf(x.shape);
    const src = x.clamp ? x.clamp.source : x;
    // A clamped table value the table path could not take: its float64 values.
    if (src.table) ctx.materialize(src);
    const { lo, hi } = clampedCodeBounds(p, x.clamp ?? {}, (m, h) => ctx.fail(node, m, h));
    const y = ctx.define(node.outputs[0].name, { kind: 'codes', shape: x.shape, channels: p.channels, inner: n / p.channels, scale: p.scale, zeroPoint: p.zeroPoint, lo, hi, container: p.container, asCodes: true });
    // The integer kernel that made `src` writes these codes itself: no step here.
    if (src.fuseQuantize && fusableQuantize(node, ctx.keep) && src.fuseQuantize({ channels: p.channels, scale: p.scale, zeroPoint: p.zeroPoint, lo, hi }, y.buffer)) return;
    const pS = ctx.constant(p.scale);
    const pZ = ctx.constant(p.zeroPoint);
    const pLo = ctx.constant(lo);
    const pHi = ctx.constant(hi);
    const k = ctx.k;
    ctx.emit(node, 'quantize', () => k.quantize(src.buffer.offset, y.buffer.offset, p.channels, n / p.channels, pS, pZ, pLo, pHi));
  },
});
