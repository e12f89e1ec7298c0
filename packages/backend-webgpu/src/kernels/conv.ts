import { convOperands } from '@nibble/quant';
import { registerKernel } from '../registry';
import { emitLayer } from './layer';

registerKernel({
  opType: 'Conv',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    const { w, bias, geometry } = convOperands(node, x.shape.length, (m, h) => ctx.fail(node, m, h));
    emitLayer(ctx, node, x, w, bias, geometry);
  },
});
