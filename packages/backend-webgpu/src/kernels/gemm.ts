import { gemmOperands, POINTWISE } from '@nibble/quant';
import { sizeOf } from '../plan';
import { registerKernel } from '../registry';
import { emitLayer } from './layer';

/** Gemm with a constant B: a 1x1 conv over the K features of one sample. */
registerKernel({
  opType: 'Gemm',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    const { w, bias, N, K } = gemmOperands(node, sizeOf(x.shape), (m, h) => ctx.fail(node, m, h));
    emitLayer(ctx, node, { ...x, shape: [K, 1, 1] }, w, bias, POINTWISE, [N]);
  },
});
