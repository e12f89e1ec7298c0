import { convTransposeAsPointwise, POINTWISE } from '@nibble/quant';
import { type Buffer, type OutputGrid } from '../plan';
import { registerKernel } from '../registry';
import { emitLayer } from './layer';

/*
 * ConvTranspose whose kernel equals its stride (no pads, dilations, groups
 * or output padding; DBNet's 2x2 stride-2 upsampling head): every output
 * pixel gets exactly one tap of every input channel, so it is a 1x1 conv
 * with O * KH * KW outputs, one per (o, dy, dx), followed by a scatter of
 * those planes to their pixels (depthToSpace; the node read and the weight
 * laid out by @nibble/quant convTransposeAsPointwise). The 1x1 conv is emitLayer's:
 * integer kernels on codes, with the QuantizeLinear that follows fused (its
 * codes are scattered instead of float64 values).
 */
registerKernel({
  opType: 'ConvTranspose',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    const { w, bias, O, KH, KW } = convTransposeAsPointwise(node, x.shape, (m, h) => ctx.fail(node, m, h));
    const [, H, W] = x.shape;
    const KK = KH * KW;
    const O2 = O * KK;
    const inner = emitLayer(ctx, node, x, w, bias, POINTWISE);
    ctx.use(inner);
    const OH = H * KH;
    const OW = W * KW;
    const y = ctx.define(node.outputs[0].name, { kind: 'real', shape: [O, OH, OW], channels: O, inner: OH * OW });
    // What the scatter reads and writes: float64 values, or the codes of a fused QuantizeLinear.
    const mode: { from: Buffer; to: Buffer; size: number } = { from: inner.buffer, to: y.buffer, size: 8 };
    const stepIndex = ctx.steps.length;
    const fuseInner = inner.fuseQuantize;
    if (fuseInner) {
      y.fuseQuantize = (q, into) => {
        // The grid per 1x1-conv output: output channel o's for each of its KK taps.
        const of = (i: number): number => Math.floor(i / KK);
        const grid: OutputGrid = q.channels === 1 ? q : {
          channels: O2,
          scale: Float64Array.from({ length: O2 }, (_, i) => q.scale[of(i)]),
          zeroPoint: Int32Array.from({ length: O2 }, (_, i) => q.zeroPoint[of(i)]),
          lo: Int32Array.from({ length: O2 }, (_, i) => q.lo[of(i)]),
          hi: Int32Array.from({ length: O2 }, (_, i) => q.hi[of(i)]),
        };
        const codes = ctx.buffer(O2 * H * W);
        if (!fuseInner(grid, codes)) return false;
        codes.lastUse = stepIndex;
        Object.assign(mode, { from: codes, to: into, size: 1 });
        into.def = stepIndex;
        y.buffer.bytes = 0;
        return true;
      };
    }
    const k = ctx.k;
    ctx.emit(node, 'depthToSpace', () => k.depthToSpace(mode.from.offset, O, KH, KW, H, W, mode.size, mode.to.offset));
  },
});
