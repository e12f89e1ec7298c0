import { registerKernel } from '../registry';
import { sizeOf } from '../plan';
import { dequantized } from './layer';
import { quantParams } from './params';

/**
 * QuantizeLinear: codes = clamp(round_half_even(y / s) + zp)
 * to the container, or to each channel's own levels where the lowering put
 * Max/Min in front (rounding then clamping to the levels is what clamping to
 * the levels' float bounds then rounding gives: lower.ts).
 */
registerKernel({
  opType: 'QuantizeLinear',
  compile(node, ctx) {
    const given = ctx.input(node, 0);
    // Codes onto another grid (a MaxPool's per-channel codes to its per-tensor 8-bit grid): through exact float64 values.
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
    const pS = ctx.constant(p.scale);
    const pZ = ctx.constant(p.zeroPoint);
    const pLo = ctx.constant(lo);
    const pHi = ctx.constant(hi);
    const k = ctx.k;
    ctx.emit(node, 'quantize', () => k.quantize(src.buffer.offset, y.buffer.offset, p.channels, n / p.channels, pS, pZ, pLo, pHi));
  },
});
