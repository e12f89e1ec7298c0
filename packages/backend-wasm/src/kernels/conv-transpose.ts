import { constantTensor } from '@nibble/ir';
import { POINTWISE, resolveWeight, type ResolvedWeight } from '@nibble/quant';
import { type Buffer, type OutputGrid } from '../plan';
import { registerKernel } from '../registry';
import { emitLayer } from './layer';

/*
 * ConvTranspose whose kernel equals its stride (no pads, dilations, groups
 * or output padding; DBNet's 2x2 stride-2 upsampling head): every output
 * pixel gets exactly one tap of every input channel, so it is a 1x1 conv
 * with O * KH * KW outputs, one per (o, dy, dx), followed by a scatter of
 * those planes to their pixels (depthToSpace). The 1x1 conv is emitLayer's:
 * integer kernels on codes, with the QuantizeLinear that follows fused (its
 * codes are scattered instead of float64 values).
 */
registerKernel({
  opType: 'ConvTranspose',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.shape.length !== 3) return ctx.fail(node, 'only 2-D transposed convolutions (input [N,C,H,W]) are supported');
    const w = resolveWeight(node.inputs[1] ?? undefined, 1);
    if (!w || w.shape.length !== 4) return ctx.fail(node, 'the weight must be a constant [C, O/group, KH, KW] (float, or DequantizeLinear of an integer tensor along axis 1)');
    const [Cw, O, KH, KW] = w.shape;
    const [C, H, W] = x.shape;
    const [sh, sw] = node.getInts('strides', [1, 1]);
    const [kh, kw] = node.getInts('kernel_shape', [KH, KW]);
    const plain = node.getInt('group', 1) === 1 && node.getInts('dilations', [1, 1]).every((d) => d === 1)
      && node.getInts('pads', [0, 0, 0, 0]).every((p) => p === 0) && node.getInts('output_padding', [0, 0]).every((p) => p === 0)
      && node.getString('auto_pad', 'NOTSET') === 'NOTSET' && node.getInts('output_shape', []).length === 0;
    if (!plain || kh !== KH || kw !== KW || sh !== KH || sw !== KW) return ctx.fail(node, 'only kernel = stride, without pads, dilations, groups, output padding or output_shape, is supported');
    if (Cw !== C) return ctx.fail(node, `the weight has ${Cw} input channels for an input of ${C}`);
    const bias = node.inputs[2] ? constantTensor(node.inputs[2])?.toFloat64() : undefined;
    if (node.inputs[2] && (!bias || bias.length !== O)) return ctx.fail(node, 'the bias must be a constant of one value per output channel');
    const KK = KH * KW;
    const O2 = O * KK;
    // The 1x1 conv's weight [(o, dy, dx)][C]: row o2 = o * KK + t takes tap t of output channel o.
    const levels = new Float64Array(O2 * C);
    for (let c = 0; c < C; c++) for (let o = 0; o < O; o++) for (let t = 0; t < KK; t++) levels[(o * KK + t) * C + c] = w.levels[(c * O + o) * KK + t];
    const rows = (v: Float64Array): Float64Array => Float64Array.from({ length: O2 }, (_, o2) => v[Math.floor(o2 / KK)]);
    const w2: ResolvedWeight = { shape: [O2, C, 1, 1], axis: 0, levels, scale: rows(w.scale), integer: w.integer, ...(w.shift ? { shift: rows(w.shift) } : {}) };
    const inner = emitLayer(ctx, node, x, w2, bias && rows(bias), POINTWISE);
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
