import { NibbleError } from '@nibble/ir';
import { type CodesGrid, concatenatedGrid, concatLayout } from '@nibble/quant';
import { registerKernel } from '../registry';
import { type Buffer, sizeOf } from '../plan';
import { soleReader } from './table';

/*
 * Concat along the channels (PP-OCR's FPN fuses four maps). Codes stay
 * codes: the output carries each input's grid on its own channels (one
 * grid when all inputs share it), so the QuantizeLinear that follows maps
 * them by a table per channel. Otherwise the output is real: codes
 * dequantized, table values looked up, float64 copied, each straight into
 * its slice.
 */
registerKernel({
  opType: 'Concat',
  compile(node, ctx) {
    const count = node.inputs.filter((v) => v).length;
    const xs = Array.from({ length: count }, (_, i) => ctx.inputLazy(node, i));
    const { C, H, W, offsets } = concatLayout(node, xs.map((x) => x.shape), (m, h) => ctx.fail(node, m, h));
    if (xs.some((x) => x.clamp)) return ctx.fail(node, 'an input is a pending clamp (Max/Min before QuantizeLinear)');
    const HW = H * W;
    const name = node.outputs[0].name;
    const k = ctx.k;
    if (xs.every((x) => x.kind === 'codes' && !x.table)) {
      const grid = concatenatedGrid(xs as (CodesGrid & { shape: number[] })[], (m, h) => ctx.fail(node, m, h));
      const y = ctx.define(name, { kind: 'codes', shape: [C, H, W], ...grid, container: xs.some((x) => x.container === 'uint8') ? 'uint8' : 'uint4', asCodes: false });
      ctx.emit(node, 'concatCodes', () => {
        const u8 = new Uint8Array(k.memory.buffer);
        xs.forEach((x, i) => u8.copyWithin(y.buffer.offset + offsets[i], x.buffer.offset, x.buffer.offset + sizeOf(x.shape)));
      });
      return;
    }
    const y = ctx.define(name, { kind: 'real', shape: [C, H, W], channels: C, inner: HW, f32: xs.every((x) => x.table || (x.kind === 'real' && x.f32)) });
    // Each input's part of the step: written into its slice of the output.
    const parts = xs.map((x, i) => {
      const at = (): number => y.buffer.offset + offsets[i] * 8;
      const n = sizeOf(x.shape);
      if (x.table) {
        const t = x.table;
        const src = t.source;
        const pT = ctx.constant(t.values);
        return () => k.lookupReal(src.buffer.offset, at(), t.channels, n / t.channels, pT);
      }
      if (x.kind === 'codes') {
        const pS = ctx.constant(x.scale!);
        const pZ = ctx.constant(x.zeroPoint!);
        return () => k.dequantize(x.buffer.offset, at(), x.channels, x.inner, pS, pZ);
      }
      return () => new Uint8Array(k.memory.buffer).copyWithin(at(), x.buffer.offset, x.buffer.offset + n * 8);
    });
    // A per-tensor QuantizeLinear after it, every input a real value whose producer can write codes
    // (the detector's FPN: sums and their nearest upsamplings): each producer writes its codes into
    // its slice of the QuantizeLinear's output, and this step has nothing left to do.
    const fusable = xs.map((x, i) => (x.kind === 'real' && !x.table && soleReader(ctx, node, i) ? x.fuseQuantize : undefined));
    let fused = false;
    if (fusable.every((f) => f)) {
      y.fuseQuantize = (q, into) => {
        if (q.channels !== 1) return false;
        let first = into.def;
        for (let i = 0; i < xs.length; i++) {
          const slice: Buffer = { bytes: 0, def: into.def, lastUse: into.def, get offset() { return into.offset + offsets[i]; } };
          // Per tensor, every producer's fusion succeeds (the integer conv, Add of codes and Resize of them).
          if (!fusable[i]!(q, slice)) throw new NibbleError('E_INTERNAL', `${node.name}: input ${i} could not write the codes it was asked for`);
          first = Math.min(first, slice.def);
        }
        into.def = first;
        y.buffer.bytes = 0;
        fused = true;
        return true;
      };
    }
    ctx.emit(node, 'concatReal', () => {
      if (!fused) parts.forEach((run) => run());
    });
  },
});
