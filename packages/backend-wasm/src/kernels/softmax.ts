import { registerKernel } from '../registry';
import { sizeOf } from '../plan';
import { dequantized } from './layer';

/** Softmax over the last axis, in float64 (the graph's float output). */
registerKernel({
  opType: 'Softmax',
  compile(node, ctx) {
    const given = ctx.input(node, 0);
    const rank = given.shape.length + 1;
    const axis = node.getInt('axis', -1);
    if ((axis < 0 ? axis + rank : axis) !== rank - 1) return ctx.fail(node, 'only the last axis is supported');
    if (given.clamp) return ctx.fail(node, 'its input is a pending clamp');
    const x = given.kind === 'codes' ? dequantized(ctx, node, given) : given;
    const n = x.shape[x.shape.length - 1];
    const rows = sizeOf(x.shape) / n;
    const y = ctx.define(node.outputs[0].name, { kind: 'real', shape: x.shape, channels: 1, inner: sizeOf(x.shape) });
    const k = ctx.k;
    ctx.emit(node, 'softmaxReal', () => k.softmaxReal(x.buffer.offset, rows, n, y.buffer.offset));
  },
});
