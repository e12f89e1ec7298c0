import { constantTensor } from '@nibble/ir';
import { registerKernel } from '../registry';
import { type Buffer, sizeOf } from '../plan';
import { soleReader } from './table';

/*
 * Resize, mode nearest (PP-OCR's FPN upsampling): a gather of rows and
 * columns, so codes stay codes on their grid (and real values real). The
 * source index of each output row and column is computed here with
 * onnxruntime's coordinate rules in float32.
 */

type Rule = (x: number, scale: number, inSize: number, outSize: number) => number;

const COORDINATES: Record<string, Rule> = {
  asymmetric: (x, s) => Math.fround(x / s),
  half_pixel: (x, s) => Math.fround(Math.fround(Math.fround(x + 0.5) / s) - 0.5),
  pytorch_half_pixel: (x, s, _i, o) => (o > 1 ? Math.fround(Math.fround(Math.fround(x + 0.5) / s) - 0.5) : 0),
  tf_half_pixel_for_nn: (x, s) => Math.fround(Math.fround(x + 0.5) / s),
  align_corners: (x, _s, i, o) => (o === 1 ? 0 : Math.fround(Math.fround(x * (i - 1)) / (o - 1))),
};

const ROUNDING: Record<string, (v: number) => number> = {
  floor: Math.floor,
  ceil: Math.ceil,
  round_prefer_floor: (v) => (v === Math.floor(v) + 0.5 ? Math.floor(v) : Math.round(v)),
  round_prefer_ceil: (v) => Math.round(v),
};

registerKernel({
  opType: 'Resize',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.shape.length !== 3 || x.clamp) return ctx.fail(node, 'only [N,C,H,W] inputs are supported');
    const interpolation = node.getString('mode', 'nearest');
    if (interpolation !== 'nearest') return ctx.fail(node, `mode '${interpolation}' is not supported (nearest only)`);
    const ctm = node.getString('coordinate_transformation_mode', 'half_pixel');
    const coordinate = COORDINATES[ctm];
    const rounding = ROUNDING[node.getString('nearest_mode', 'round_prefer_floor')];
    if (!coordinate || !rounding) return ctx.fail(node, `coordinate_transformation_mode '${ctm}' or nearest_mode '${node.getString('nearest_mode', '')}' is not supported`);
    if (node.getInt('exclude_outside', 0) !== 0 || node.getInts('axes', []).length) return ctx.fail(node, 'exclude_outside and axes are not supported');
    const [C, H, W] = x.shape;
    const scalesT = node.inputs[2] ? constantTensor(node.inputs[2]) : undefined;
    const sizesT = node.inputs[3] ? constantTensor(node.inputs[3]) : undefined;
    if ((node.inputs[2] && !scalesT) || (node.inputs[3] && !sizesT)) return ctx.fail(node, 'scales and sizes must be constants');
    let sh: number, sw: number, OH: number, OW: number;
    if (sizesT && sizesT.size === 4) {
      const s = sizesT.toFloat64();
      if (s[0] !== 1 || s[1] !== C) return ctx.fail(node, 'only the spatial axes may be resized');
      [OH, OW] = [s[2], s[3]];
      [sh, sw] = [Math.fround(OH / H), Math.fround(OW / W)];
    } else if (scalesT && scalesT.size === 4) {
      const s = Array.from(scalesT.toFloat64(), (v) => Math.fround(v));
      if (s[0] !== 1 || s[1] !== 1) return ctx.fail(node, 'only the spatial axes may be resized');
      [sh, sw] = [s[2], s[3]];
      [OH, OW] = [Math.floor(H * sh), Math.floor(W * sw)];
    } else {
      return ctx.fail(node, 'scales or sizes must hold 4 values');
    }
    const index = (scale: number, inSize: number, outSize: number): Int32Array =>
      Int32Array.from({ length: outSize }, (_, o) => Math.min(inSize - 1, Math.max(0, rounding(coordinate(o, scale, inSize, outSize)))));
    const pY = ctx.constant(index(sh, H, OH));
    const pX = ctx.constant(index(sw, W, OW));
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
