import { registerKernel } from '../registry';
import { MAX_POOL_SHADER } from '../wgsl';
import { maxPoolWindow } from '@nibble/quant';

/** MaxPool of codes: the code of the max (positive scales keep the order). */
registerKernel({
  opType: 'MaxPool',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.shape.length !== 3 || x.clamp) return ctx.fail(node, 'only 2-D pooling of an [N,C,H,W] value is supported');
    if (x.kind !== 'codes') return ctx.fail(node, 'max pooling of float64 values is not supported', 'WGSL has no float64: quantize with --target wasm, or run with --backend wasm');
    const [C, H, W] = x.shape;
    const { kh, kw, sh, sw, pt, pl, OH, OW } = maxPoolWindow(node, x.shape, (m, h) => ctx.fail(node, m, h));
    const y = ctx.define(node.outputs[0].name, { ...x, shape: [C, OH, OW], inner: x.channels === 1 ? C * OH * OW : OH * OW, asCodes: false, buffer: undefined });
    ctx.emit(node, 'maxPoolCodes', () => ({
      key: 'maxpool', wgsl: () => MAX_POOL_SHADER, bindings: [{ buf: x.buffer }, { write: y.buffer }],
      params: [C, H, W, kh, kw, sh, sw, pt, pl, OH, OW], groups: [Math.ceil((OH * OW) / 64), C],
    }));
  },
});
