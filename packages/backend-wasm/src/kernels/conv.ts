import { registerKernel } from '../registry';
import { constantTensor } from '@nibble/ir';
import { resolveWeight } from '../weights';
import { emitLayer } from './layer';

registerKernel({
  opType: 'Conv',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.shape.length !== 3) return ctx.fail(node, `only 2-D convolutions (input [N,C,H,W]); got a per-sample shape [${x.shape.join(',')}]`);
    const w = resolveWeight(node.inputs[1] ?? undefined, 0);
    if (!w || w.shape.length !== 4) return ctx.fail(node, 'the weight must be a constant [O, C/group, KH, KW] (float, or DequantizeLinear of an integer tensor)');
    const bias = node.inputs[2] ? constantTensor(node.inputs[2])?.toFloat64() : undefined;
    if (node.inputs[2] && !bias) return ctx.fail(node, 'the bias must be a constant');
    if (node.getString('auto_pad', 'NOTSET') !== 'NOTSET') return ctx.fail(node, 'auto_pad is not supported', 'write explicit pads (nibble convert does)');
    const [kh, kw] = node.getInts('kernel_shape', w.shape.slice(2));
    const [sh, sw] = node.getInts('strides', [1, 1]);
    const [dh, dw] = node.getInts('dilations', [1, 1]);
    const [pt, pl, pb, pr] = node.getInts('pads', [0, 0, 0, 0]);
    emitLayer(ctx, node, x, w, bias, { group: node.getInt('group', 1), kh, kw, sh, sw, dh, dw, pt, pl, pb, pr });
  },
});
