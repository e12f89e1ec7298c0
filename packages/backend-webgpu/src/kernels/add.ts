import type { Node } from '@nibble/ir';
import { codesRange, type CompileContext, type OutputGrid, type PlannedValue, roundedClamped, sizeOf } from '../plan';
import { registerKernel } from '../registry';
import { constantOf, emitElementwise, REAL_OP } from './elementwise';
import { emitPair, realOfCodes } from './real';

/*
 * Add, as the wasm plan decides it. A constant operand (a bias, hard-swish's
 * + 3) or two functions of one codes value: elementwise.ts. Residual sums of
 * two values of one shape: per-tensor codes on both sides run addCodes,
 * which writes the codes of the QuantizeLinear that reads it (fused: t =
 * (qa - za) * (sa / so) + (qb - zb) * (sb / so), the output scale folded in)
 * or the float64 sum; other codes are dequantized and summed in float64.
 * Every one of these is a function of the two codes, so the GPU looks the
 * result up in a table of (qa, qb) computed with those float64 operations
 * on the host (real.ts).
 */

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

/** The codes a value is a table of, or the codes themselves (a DequantizeLinear shares its QuantizeLinear's buffer). */
const codesBehind = (p: PlannedValue | undefined): PlannedValue['buffer'] | undefined => (p?.table ? p.table.source.buffer : p?.kind === 'codes' ? p.buffer : undefined);

registerKernel({
  opType: 'Add',
  compile(node, ctx) {
    const runtime = (i: number): PlannedValue | undefined => (node.inputs[i] && !ctx.isStatic(node.inputs[i]!) ? ctx.values.get(node.inputs[i]!.name) : undefined);
    const [la, lb] = [runtime(0), runtime(1)];
    const sameTableSource = (la?.table || lb?.table) && codesBehind(la) !== undefined && codesBehind(la) === codesBehind(lb);
    if (ctx.isStatic(node.inputs[0] ?? undefined) || ctx.isStatic(node.inputs[1] ?? undefined) || sameTableSource) {
      emitElementwise(ctx, node, ([x, y]) => Math.fround(x + y), (ops, r) => {
        const c = constantOf(ops, r);
        return c && { op: REAL_OP.add, a: c };
      });
      return;
    }
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
