import { registerKernel } from '../registry';
import { outExtent } from './layer';

/** MaxPool: on codes the code of the max (positive scales keep the order); on real values in float64. */
registerKernel({
  opType: 'MaxPool',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.shape.length !== 3 || x.clamp) return ctx.fail(node, 'only 2-D pooling of an [N,C,H,W] value is supported');
    if (node.getInt('ceil_mode', 0) !== 0 || node.getString('auto_pad', 'NOTSET') !== 'NOTSET') return ctx.fail(node, 'ceil_mode and auto_pad are not supported');
    if (node.getInts('dilations', [1, 1]).some((d) => d !== 1)) return ctx.fail(node, 'dilations are not supported');
    if (node.outputs.length > 1 && node.outputs[1]) return ctx.fail(node, 'the Indices output is not supported');
    const [C, H, W] = x.shape;
    const [kh, kw] = node.getInts('kernel_shape', []);
    const [sh, sw] = node.getInts('strides', [1, 1]);
    const [pt, pl, pb, pr] = node.getInts('pads', [0, 0, 0, 0]);
    const OH = outExtent(H, kh, sh, 1, pt, pb);
    const OW = outExtent(W, kw, sw, 1, pl, pr);
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
