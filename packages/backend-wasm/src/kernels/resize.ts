import { nearestResize } from '@nibble/quant';
import { registerKernel } from '../registry';
import { type Buffer, sizeOf } from '../plan';
import { soleReader } from './table';

/*
 * Resize, mode nearest (PP-OCR's FPN upsampling): a gather of rows and
 * columns, so codes stay codes on their grid (and real values real). The
 * source rows and columns are @nibble/quant's nearestResize (onnxruntime's
 * coordinate rules in float32).
 */

registerKernel({
  opType: 'Resize',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.shape.length !== 3 || x.clamp) return ctx.fail(node, 'only [N,C,H,W] inputs are supported');
    const [C, H, W] = x.shape;
    const { OH, OW, rows, cols } = nearestResize(node, x.shape, (m, h) => ctx.fail(node, m, h));
    const pY = ctx.constant(rows);
    const pX = ctx.constant(cols);
    const codes = x.kind === 'codes';
    const y = ctx.define(node.outputs[0].name, codes
      ? { ...x, shape: [C, OH, OW], inner: x.channels === 1 ? C * OH * OW : OH * OW, asCodes: false, buffer: undefined }
      : { kind: 'real', shape: [C, OH, OW], channels: C, inner: OH * OW, f32: x.f32 });
    if (sizeOf(y.shape) === 0) return ctx.fail(node, 'the output is empty');
    const k = ctx.k;
    // What the gather reads and writes: as given, or the codes of a QuantizeLinear fused through it.
    const mode: { from: Buffer; to: Buffer; size: number } = { from: x.buffer, to: y.buffer, size: codes ? 1 : 8 };
    const stepIndex = ctx.steps.length;
    const fuseX = x.fuseQuantize;
    if (fuseX && soleReader(ctx, node)) {
      // Nearest resize commutes with quantization: the producer writes the codes, the gather moves bytes.
      y.fuseQuantize = (q, into) => {
        const fromCodes = ctx.buffer(sizeOf(x.shape));
        if (!fuseX(q, fromCodes)) return false;
        fromCodes.lastUse = stepIndex;
        Object.assign(mode, { from: fromCodes, to: into, size: 1 });
        into.def = Math.min(into.def, stepIndex);
        y.buffer.bytes = 0;
        return true;
      };
    }
    ctx.emit(node, 'resizeNearest', () => k.resizeNearest(mode.from.offset, C, H, W, OH, OW, pY, pX, mode.size, mode.to.offset));
  },
});
