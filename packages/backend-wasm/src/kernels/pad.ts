import { constantTensor } from '@nibble/ir';
import { registerKernel } from '../registry';

/**
 * Pad (constant mode, spatial axes only) of a real value, or of codes when
 * the pad value 0 is a level (it always is: the zero point's code).
 */
registerKernel({
  opType: 'Pad',
  compile(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.shape.length !== 3 || x.clamp) return ctx.fail(node, 'only [N,C,H,W] inputs are supported');
    if (node.getString('mode', 'constant') !== 'constant') return ctx.fail(node, `mode '${node.getString('mode', '')}' is not supported (constant only)`);
    if (node.inputs[3]) return ctx.fail(node, 'the axes input is not supported');
    const padsT = node.inputs[1] ? constantTensor(node.inputs[1]) : undefined;
    const pads = padsT ? Array.from(padsT.toFloat64()) : node.getInts('pads', []);
    if (pads.length !== 8) return ctx.fail(node, `pads must have 8 values for a 4-D input (got ${pads.length})`);
    const valueT = node.inputs[2] ? constantTensor(node.inputs[2]) : undefined;
    if (node.inputs[2] && !valueT) return ctx.fail(node, 'constant_value must be a constant');
    const value = valueT ? valueT.toFloat64()[0] : node.getFloat('value', 0);
    const [n0, c0, pt, pl, n1, c1, pb, pr] = pads;
    if (n0 || c0 || n1 || c1 || [pt, pl, pb, pr].some((p) => p < 0)) return ctx.fail(node, 'only non-negative pads of the spatial axes are supported');
    const [C, H, W] = x.shape;
    const OH = H + pt + pb;
    const OW = W + pl + pr;
    const k = ctx.k;
    if (x.kind === 'codes') {
      if (value !== 0) return ctx.fail(node, `padding codes with ${value} (not 0) is not supported`);
      if (x.channels !== 1 && x.channels !== C) return ctx.fail(node, 'codes quantized along an axis other than the channels');
      const y = ctx.define(node.outputs[0].name, { ...x, shape: [C, OH, OW], inner: x.channels === 1 ? C * OH * OW : OH * OW, asCodes: false, buffer: undefined });
      // The code of the value 0 is the zero point.
      const fill = ctx.constant(Int32Array.from({ length: C }, (_, c) => x.zeroPoint![x.channels === 1 ? 0 : c]));
      ctx.emit(node, 'padPlanes', () => k.padPlanes(x.buffer.offset, C, H, W, pt, pl, OH, OW, y.buffer.offset, 1, fill));
      return;
    }
    const y = ctx.define(node.outputs[0].name, { kind: 'real', shape: [C, OH, OW], channels: C, inner: OH * OW });
    const fill = ctx.constant(Float64Array.of(value));
    ctx.emit(node, 'padPlanes', () => k.padPlanes(x.buffer.offset, C, H, W, pt, pl, OH, OW, y.buffer.offset, 8, fill));
  },
});
