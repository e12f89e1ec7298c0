import type { Node } from '@nibble/ir';
import { registerKernel } from '../registry';
import { type Buffer, type CompileContext, type OutputGrid, type PlannedValue, sizeOf } from '../plan';
import { constantOf, emitElementwise, OP } from './elementwise';
import { dequantized } from './layer';

/**
 * Add of per-tensor codes in one step: the float64 sum of their values,
 * written as float64 (the general path's operations), or as the codes of
 * the QuantizeLinear that reads it (fused, as for convs: the output scale
 * folded into the input scales).
 */
function addCodes(ctx: CompileContext, node: Node, a: PlannedValue, b: PlannedValue): void {
  const n = sizeOf(a.shape);
  const y = ctx.define(node.outputs[0].name, { kind: 'real', shape: a.shape, channels: 1, inner: n });
  const mode: { out: Buffer; codes: number; q?: OutputGrid } = { out: y.buffer, codes: 0 };
  const stepIndex = ctx.steps.length;
  y.fuseQuantize = (q, into) => {
    if (q.channels !== 1) return false;
    Object.assign(mode, { out: into, codes: 1, q });
    into.def = stepIndex;
    y.buffer.bytes = 0;
    return true;
  };
  const k = ctx.k;
  ctx.emit(node, 'addCodes', () => {
    const q = mode.q;
    // Fused: the output scale folded into the input scales (no division per element).
    const so = q ? q.scale[0] : 1;
    k.addCodes(a.buffer.offset, a.zeroPoint![0], a.scale![0] / so, b.buffer.offset, b.zeroPoint![0], b.scale![0] / so, n, mode.out.offset, mode.codes, q ? q.zeroPoint[0] : 0, q ? q.lo[0] : 0, q ? q.hi[0] : 0);
  });
}

/**
 * Add of two runtime values of one shape (residual sums): float64. Sums of
 * dequantized codes are exact there (8-bit levels times float32 scales).
 */
registerKernel({
  opType: 'Add',
  compile(node, ctx) {
    // A constant operand (a bias, hard-swish's + 3), or two functions of one codes value: elementwise.ts.
    const [va, vb] = node.inputs;
    const lazy = (i: number): PlannedValue | undefined => (node.inputs[i] && !ctx.isStatic(node.inputs[i]) ? ctx.values.get(node.inputs[i]!.name) : undefined);
    const [la, lb] = [lazy(0), lazy(1)];
    const codesOf = (p: PlannedValue | undefined) => (p?.table ? p.table.source.buffer : p?.kind === 'codes' ? p.buffer : undefined);
    const sameTableSource = (la?.table || lb?.table) && codesOf(la) !== undefined && codesOf(la) === codesOf(lb);
    if (ctx.isStatic(va ?? undefined) || ctx.isStatic(vb ?? undefined) || sameTableSource) {
      emitElementwise(ctx, node, ([x, y]) => Math.fround(x + y), (ops, r) => {
        const c = constantOf(ops, r);
        return c && { op: OP.ADD, a: c };
      });
      return;
    }
    const a = ctx.input(node, 0);
    const b = ctx.input(node, 1);
    if (a.shape.join() !== b.shape.join() || a.clamp || b.clamp) return ctx.fail(node, `only same-shape operands are supported ([${a.shape.join(',')}] + [${b.shape.join(',')}])`);
    if (a.kind === 'codes' && b.kind === 'codes' && a.channels === 1 && b.channels === 1) return addCodes(ctx, node, a, b);
    const real = (v: PlannedValue): PlannedValue => (v.kind === 'codes' ? dequantized(ctx, node, v) : v);
    const ra = real(a);
    const rb = real(b);
    // A dequantized temporary lives until the add step, which comes after both conversions.
    ra.buffer.lastUse = Math.max(ra.buffer.lastUse, ctx.steps.length);
    rb.buffer.lastUse = Math.max(rb.buffer.lastUse, ctx.steps.length);
    const n = sizeOf(a.shape);
    const y = ctx.define(node.outputs[0].name, { kind: 'real', shape: a.shape, channels: a.channels, inner: a.inner });
    const k = ctx.k;
    ctx.emit(node, 'addReal', () => k.addReal(ra.buffer.offset, rb.buffer.offset, y.buffer.offset, n));
  },
});
