import type { Node } from '@nibble/ir';
import { type CompileContext, type OutputGrid, type PlannedValue, roundedClamped, sizeOf } from '../plan';
import { registerKernel } from '../registry';
import { emitPair, realOfCodes } from './real';

/*
 * Add of two values of one shape (residual sums), as the wasm plan decides
 * it: per-tensor codes on both sides run addCodes, which writes the codes of
 * the QuantizeLinear that reads it (fused: t = (qa - za) * (sa / so) +
 * (qb - zb) * (sb / so), the output scale folded in) or the float64 sum;
 * other codes are dequantized and summed in float64. Every one of these is a
 * function of the two codes, so the GPU looks the result up in a table of
 * (qa, qb) computed with those float64 operations on the host (real.ts).
 */

const codesRange = (v: PlannedValue): number => (v.container === 'uint4' ? 15 : Math.max(...v.hi!)) + 1;

function addCodes(ctx: CompileContext, node: Node, a: PlannedValue, b: PlannedValue): void {
  const n = sizeOf(a.shape);
  const za = a.zeroPoint![0], zb = b.zeroPoint![0], sa = a.scale![0], sb = b.scale![0];
  const y = ctx.define(node.outputs[0].name, {
    kind: 'real', base: 'pair', shape: a.shape, channels: 1, inner: n, buffer: a.buffer,
    pair: { a, b, value: (_c, qa, qb) => (qa - za) * sa + (qb - zb) * sb },
  });
  y.fuseQuantize = (q: OutputGrid, into) => {
    if (q.channels !== 1) return false;
    const so = q.scale[0], zo = q.zeroPoint[0], lo = q.lo[0], hi = q.hi[0];
    const fa = sa / so, fb = sb / so;
    const na = codesRange(a), nb = codesRange(b);
    const lut = new Uint32Array(na * nb);
    for (let qa = 0; qa < na; qa++) for (let qb = 0; qb < nb; qb++) {
      lut[qa * nb + qb] = Math.min(hi, Math.max(lo, roundedClamped((qa - za) * fa + (qb - zb) * fb) + zo));
    }
    ctx.use(y);
    into.def = ctx.steps.length;
    emitPair(ctx, node, a, b, lut, [n, n, 1, na, nb], { ...y, buffer: into });
    return true;
  };
}

registerKernel({
  opType: 'Add',
  compile(node, ctx) {
    const a = ctx.input(node, 0);
    const b = ctx.input(node, 1);
    if (a.shape.join() !== b.shape.join() || a.clamp || b.clamp) return ctx.fail(node, `only same-shape operands are supported ([${a.shape.join(',')}] + [${b.shape.join(',')}])`);
    if (a.kind === 'codes' && b.kind === 'codes' && a.channels === 1 && b.channels === 1) return addCodes(ctx, node, a, b);
    const ra = a.kind === 'codes' ? realOfCodes(a) : a;
    const rb = b.kind === 'codes' ? realOfCodes(b) : b;
    if (ra.base !== 'codes' || rb.base !== 'codes') return ctx.fail(node, 'a sum of real values other than dequantized codes is a float64 sum of arbitrary values', 'WGSL has no float64: quantize with --target wasm, or run with --backend wasm');
    const channels = Math.max(ra.channels, rb.channels);
    const inner = sizeOf(a.shape) / channels;
    const ok = (v: PlannedValue): boolean => v.channels === 1 || (v.channels === channels && v.inner === inner);
    if (!ok(ra) || !ok(rb)) return ctx.fail(node, 'the operands are quantized along different axes');
    const va = ra.value!, vb = rb.value!;
    const ch = (v: PlannedValue, c: number): number => (v.channels === 1 ? 0 : c);
    ctx.define(node.outputs[0].name, {
      kind: 'real', base: 'pair', shape: a.shape, channels, inner, buffer: ra.buffer,
      pair: { a: ra.codes!, b: rb.codes!, value: (c, qa, qb) => va(ch(ra, c), qa) + vb(ch(rb, c), qb) },
    });
  },
});
