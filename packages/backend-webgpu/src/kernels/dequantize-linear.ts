import { registerKernel } from '../registry';
import { quantParams } from './params';

/** DequantizeLinear of codes with the same parameters: the same buffer, now read as values (no step). */
registerKernel({
  opType: 'DequantizeLinear',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.kind !== 'codes') return ctx.fail(node, 'the input must be integer codes');
    const p = quantParams(node, ctx, x.shape);
    const same = p.channels === x.channels && p.scale.every((s, c) => s === x.scale![c]) && p.zeroPoint.every((z, c) => z === x.zeroPoint![c]);
    if (!same) return ctx.fail(node, 'its scale and zero point differ from the QuantizeLinear that made the codes');
    ctx.define(node.outputs[0].name, { ...x, asCodes: false, buffer: x.buffer });
  },
});
