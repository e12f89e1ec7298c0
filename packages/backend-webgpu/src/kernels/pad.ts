import { constantTensor } from '@nibble/ir';
import { registerKernel } from '../registry';
import { PAD_SHADER } from '../wgsl';

/** Constant spatial padding of codes (the pad holds each channel's code of 0, its zero point) or of the float32 network input. */
registerKernel({
  opType: 'Pad',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.shape.length !== 3 || x.clamp) return ctx.fail(node, 'only [N,C,H,W] inputs are supported');
    if (node.getString('mode', 'constant') !== 'constant') return ctx.fail(node, 'only constant padding is supported');
    const padsT = node.inputs[1] ? constantTensor(node.inputs[1]) : undefined;
    const pads = padsT ? Array.from(padsT.toFloat64()) : node.getInts('pads', []);
    if (pads.length !== 8) return ctx.fail(node, 'pads must be a constant of 8 values (N, C, H, W begins and ends)');
    const valueT = node.inputs[2] ? constantTensor(node.inputs[2]) : undefined;
    const value = valueT ? valueT.toFloat64()[0] : node.getFloat('value', 0);
    const [n0, c0, pt, pl, n1, c1, pb, pr] = pads;
    if (n0 || c0 || n1 || c1 || [pt, pl, pb, pr].some((p) => p < 0)) return ctx.fail(node, 'only non-negative pads of the spatial axes are supported');
    const [C, H, W] = x.shape;
    const OH = H + pt + pb;
    const OW = W + pl + pr;
    if (x.kind === 'real') {
      // The network input (float32 words): padded with the float32 word of `value`, which must read back as `value`.
      const f = Math.fround(value);
      if (x.base !== 'f32' || x.channels !== 1 || x.value!(0, f) !== value) return ctx.fail(node, 'padding float64 values is not supported', 'WGSL has no float64: quantize with --target wasm, or run with --backend wasm');
      const y = ctx.define(node.outputs[0].name, { ...x, shape: [C, OH, OW], inner: C * OH * OW, buffer: undefined });
      const fill = new Uint32Array(new Float32Array(C).fill(f).buffer);
      ctx.emit(node, 'padPlanes', () => ({ key: 'pad', wgsl: () => PAD_SHADER, bindings: [{ buf: x.buffer }, { data: fill }, { write: y.buffer }], params: [C, H, W, pt, pl, OH, OW], groups: [Math.ceil((OH * OW) / 64), C] }));
      return;
    }
    if (value !== 0) return ctx.fail(node, `padding codes with ${value} (not 0) is not supported`);
    if (x.channels !== 1 && x.channels !== C) return ctx.fail(node, 'codes quantized along an axis other than the channels');
    const y = ctx.define(node.outputs[0].name, { ...x, shape: [C, OH, OW], inner: x.channels === 1 ? C * OH * OW : OH * OW, asCodes: false, buffer: undefined });
    const fill = Uint32Array.from({ length: C }, (_, c) => x.zeroPoint![x.channels === 1 ? 0 : c]);
    ctx.emit(node, 'padPlanes', () => ({ key: 'pad', wgsl: () => PAD_SHADER, bindings: [{ buf: x.buffer }, { data: fill }, { write: y.buffer }], params: [C, H, W, pt, pl, OH, OW], groups: [Math.ceil((OH * OW) / 64), C] }));
  },
});
