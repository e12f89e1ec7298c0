import { registerKernel } from '../registry';
import { maxPoolWindow } from '@nibble/quant';

/** MaxPool: on codes the code of the max (positive scales keep the order); on real values in float64. */
registerKernel({
  opType: 'MaxPool',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.shape.length !== 3 || x.clamp) return ctx.fail(node, 'only 2-D pooling of an [N,C,H,W] value is supported');
    const [C, H, W] = x.shape;
    const { kh, kw, sh, sw, pt, pl, OH, OW } = maxPoolWindow(node, x.shape, (m, h) => ctx.fail(node, m, h));
    const codes = x.kind === 'codes';
    const y = ctx.define(node.outputs[0].name, codes
      ? { ...x, shape: [C, OH, OW], inner: x.channels === 1 ? C * OH * OW : OH * OW, asCodes: false, buffer: undefined }
      : { kind: 'real', shape: [C, OH, OW], channels: C, inner: OH * OW });
    const k = ctx.k;
    const args = [C, H, W, kh, kw, sh, sw, pt, pl, OH, OW];
    if (codes) ctx.emit(node, 'maxPoolCodes', () => k.maxPoolCodes(x.buffer.offset, ...args, y.buffer.offset));
    else ctx.emit(node, 'maxPoolReal', () => k.maxPoolReal(x.buffer.offset, ...args, y.buffer.offset));
  },
});
