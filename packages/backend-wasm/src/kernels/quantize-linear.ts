import type { Node } from '@nibble/ir';
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
/** Whether this QuantizeLinear (behind Max/Min) is the only reader of its source and nothing between is fetched. */
function fusable(node: Node, ctx: CompileContext): boolean {
  let v = node.inputs[0];
  for (;;) {
    if (!v || v.uses.length !== 1 || ctx.keep.has(v.name)) return false;
    const p = v.producer;
    if (!p || (p.opType !== 'Max' && p.opType !== 'Min')) return true;
    v = p.inputs[0];
  }
}

/** round half to even, as nearest() in the kernels. */
const rint = (v: number): number => {
  const f = Math.floor(v);
  const d = v - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
};

/**
 * Codes to codes: the table of what each code becomes (the quantize kernel's float64 operations
 * on the dequantize kernel's exact value), per channel. When every code that can occur maps to
 * itself the output shares the input's bytes. False when the channel layouts do not line up.
 */
function mapOrAlias(node: Node, ctx: CompileContext, x: PlannedValue): boolean {
  const p = quantParams(node, ctx, x.shape);
  const n = sizeOf(x.shape);
  const L = Math.max(p.channels, x.channels);
  if ((p.channels !== 1 && p.channels !== L) || (x.channels !== 1 && x.channels !== L) || n % L !== 0) return false;
  if (x.channels === L && L > 1 && x.inner !== n / L) return false;
  const top = p.container === 'uint4' ? 15 : 255;
  const lut = new Uint8Array(L * 256);
  const lo = new Int32Array(p.channels).fill(top);
  const hi = new Int32Array(p.channels).fill(0);
  let identity = p.channels === x.channels;
  for (let l = 0; l < L; l++) {
    const ci = x.channels === 1 ? 0 : l;
    const co = p.channels === 1 ? 0 : l;
    for (let q = 0; q < 256; q++) {
      const v = (q - x.zeroPoint![ci]) * x.scale![ci];
      const r = Math.min(top, Math.max(0, rint(v / p.scale[co]) + p.zeroPoint[co]));
      lut[l * 256 + q] = r;
      if (q >= x.lo![ci] && q <= x.hi![ci]) {
        lo[co] = Math.min(lo[co], r);
        hi[co] = Math.max(hi[co], r);
        if (r !== q) identity = false;
      }
    }
  }
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

registerKernel({
  opType: 'QuantizeLinear',
  compile(node, ctx) {
    const given = ctx.input(node, 0);
    // Codes onto another grid (a Pad's or MaxPool's codes to the next grid): a table per channel, or no step at all.
    if (given.kind === 'codes' && mapOrAlias(node, ctx, given)) return;
    const x = given.kind === 'codes' ? dequantized(ctx, node, given) : given;
    const p = quantParams(node, ctx, x.shape);
    const n = sizeOf(x.shape);
    const lo = new Int32Array(p.channels).fill(0);
    const hi = new Int32Array(p.channels).fill(p.container === 'uint4' ? 15 : 255);
    const src = x.clamp ? x.clamp.source : x;
    if (x.clamp) {
      for (let c = 0; c < p.channels; c++) {
        const code = (v: number): number => Math.min(hi[c], Math.max(lo[c], Math.round(v / p.scale[c]) + p.zeroPoint[c]));
        if (x.clamp.lo) lo[c] = code(x.clamp.lo[x.clamp.lo.length === 1 ? 0 : c]);
        if (x.clamp.hi) hi[c] = code(x.clamp.hi[x.clamp.hi.length === 1 ? 0 : c]);
        if (x.clamp.lo && x.clamp.hi && (x.clamp.lo.length !== 1 && x.clamp.lo.length !== p.channels)) return ctx.fail(node, 'clamp bounds do not match the quantization axis');
      }
    }
    const y = ctx.define(node.outputs[0].name, { kind: 'codes', shape: x.shape, channels: p.channels, inner: n / p.channels, scale: p.scale, zeroPoint: p.zeroPoint, lo, hi, container: p.container, asCodes: true });
    // The integer kernel that made `src` writes these codes itself: no step here.
    if (src.fuseQuantize && fusable(node, ctx) && src.fuseQuantize({ channels: p.channels, scale: p.scale, zeroPoint: p.zeroPoint, lo, hi }, y.buffer)) return;
    const pS = ctx.constant(p.scale);
    const pZ = ctx.constant(p.zeroPoint);
    const pLo = ctx.constant(lo);
    const pHi = ctx.constant(hi);
    const k = ctx.k;
    ctx.emit(node, 'quantize', () => k.quantize(src.buffer.offset, y.buffer.offset, p.channels, n / p.channels, pS, pZ, pLo, pHi));
  },
});
