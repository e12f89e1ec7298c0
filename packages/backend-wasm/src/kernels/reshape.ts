import { constantTensor } from '@nibble/ir';
import { registerKernel } from '../registry';
import { sizeOf } from '../plan';

/** Reshape by a constant shape that keeps the batch axis: the same bytes, a new per-sample shape. */
registerKernel({
  opType: 'Reshape',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    const t = node.inputs[1] ? constantTensor(node.inputs[1]) : undefined;
    if (!t) return ctx.fail(node, 'the shape must be a constant');
    const target = Array.from(t.toFloat64());
    if (target[0] !== 0 && target[0] !== -1 && target[0] !== 1) return ctx.fail(node, `shape [${target.join(',')}] does not keep the batch axis`);
    const per = target.slice(1).map((d, i) => (d === 0 ? x.shape[i] : d));
    const n = sizeOf(x.shape);
    const known = per.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const shape = per.map((d) => (d === -1 ? n / known : d));
    if (sizeOf(shape) !== n || x.clamp) return ctx.fail(node, `cannot reshape [${x.shape.join(',')}] to [${target.join(',')}] per sample`);
    // Per-channel codes keep their channel only if the leading axis stays the channel axis.
    if (x.kind === 'codes' && x.channels > 1 && shape[0] !== x.shape[0]) return ctx.fail(node, 'reshaping per-channel codes across the channel axis is not supported');
    ctx.define(node.outputs[0].name, { ...x, shape, asCodes: false, buffer: x.buffer });
  },
});
