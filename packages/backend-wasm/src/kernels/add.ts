import { registerKernel } from '../registry';
import { type PlannedValue, sizeOf } from '../plan';
import { dequantized } from './layer';

/**
 * Add of two runtime values of one shape (residual sums): float64. Sums of
 * dequantized codes are exact there (8-bit levels times float32 scales).
 */
registerKernel({
  opType: 'Add',
  compile(node, ctx) {
    const a = ctx.input(node, 0);
    const b = ctx.input(node, 1);
    if (a.shape.join() !== b.shape.join() || a.clamp || b.clamp) return ctx.fail(node, `only same-shape operands are supported ([${a.shape.join(',')}] + [${b.shape.join(',')}])`);
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
