import { convTransposeAsPointwise, POINTWISE } from '@nibble/quant';
import { type OutputGrid, sizeOf } from '../plan';
import { registerKernel } from '../registry';
import { SCATTER_SHADER } from '../wgsl';
import { emitLayer } from './layer';

/*
 * ConvTranspose whose kernel equals its stride (DBNet's 2x2 stride-2
 * upsampling head), as the wasm plan runs it: a 1x1 conv with O * KH * KW
 * outputs (@nibble/quant convTransposeAsPointwise) on the integer conv
 * kernel (layer.ts), then a scatter of its planes to their pixels. The
 * scattered int32 sums are the output's value as they were the 1x1 conv's;
 * with the QuantizeLinear that follows fused, the conv writes its codes and
 * the codes are scattered.
 */
registerKernel({
  opType: 'ConvTranspose',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    const { w, bias, O, KH, KW } = convTransposeAsPointwise(node, x.shape, (m, h) => ctx.fail(node, m, h));
    const [, H, W] = x.shape;
    const KK = KH * KW;
    const inner = emitLayer(ctx, node, x, w, bias, POINTWISE);
    ctx.use(inner);
    // The scatter moves the 1x1 conv's int32 sums; a float64 output (the general conv) is not scattered.
    if (inner.base !== 'i32') return ctx.fail(node, 'only a ConvTranspose on integer codes of one scale is supported', 'run this model with --backend wasm');
    const rowValue = inner.value!;
    // Output channel o is rows o * KK .. o * KK + KK - 1 of the 1x1 conv, which share its weight scale and bias.
    const y = ctx.define(node.outputs[0].name, { kind: 'real', base: 'i32', value: (o, A) => rowValue(o * KK, A), shape: [O, H * KH, W * KW], channels: O, inner: H * KH * W * KW });
    const mode = { from: inner.buffer, to: y.buffer };
    const stepIndex = ctx.steps.length;
    const fuseInner = inner.fuseQuantize;
    if (fuseInner) {
      y.fuseQuantize = (q, into) => {
        const spread = (v: Float64Array | Int32Array): number[] => Array.from({ length: O * KK }, (_, row) => v[Math.floor(row / KK)]);
        const grid: OutputGrid = q.channels === 1 ? q : { channels: O * KK, scale: Float64Array.from(spread(q.scale)), zeroPoint: Int32Array.from(spread(q.zeroPoint)), lo: Int32Array.from(spread(q.lo)), hi: Int32Array.from(spread(q.hi)) };
        const codes = ctx.buffer(sizeOf(x.shape.slice(1)) * O * KK);
        if (!fuseInner(grid, codes)) return false;
        codes.lastUse = stepIndex;
        Object.assign(mode, { from: codes, to: into });
        into.def = stepIndex;
        y.buffer.words = 0;
        return true;
      };
    }
    ctx.emit(node, 'depthToSpace', () => ({
      key: 'scatter', wgsl: () => SCATTER_SHADER, bindings: [{ buf: mode.from }, { write: mode.to }], params: [O, KH, KW, H, W], groups: [Math.ceil((H * W) / 64), O * KK],
    }));
  },
});
