import { NibbleError } from '@nibble/ir';
import { registerKernel } from '../registry';
import { type Buffer, channelParams, type PlannedValue, sizeOf } from '../plan';
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
    const rank = xs[0].shape.length + 1;
    const raw = node.getInt('axis', 1);
    if ((raw < 0 ? raw + rank : raw) !== 1) return ctx.fail(node, 'only the channel axis (1) is supported');
    const [, H, W] = xs[0].shape;
    if (xs.some((x) => x.shape.length !== 3 || x.shape[1] !== H || x.shape[2] !== W || x.clamp)) return ctx.fail(node, 'only [N,C,H,W] inputs of one height and width are supported');
    const C = xs.reduce((a, x) => a + x.shape[0], 0);
    const HW = H * W;
    const name = node.outputs[0].name;
    const k = ctx.k;
    const offsets = xs.map((_, i) => xs.slice(0, i).reduce((a, x) => a + sizeOf(x.shape), 0));
    if (xs.every((x) => x.kind === 'codes' && !x.table)) {
      const first = xs[0];
      const oneGrid = xs.every((x) => x.channels === 1 && x.scale![0] === first.scale![0] && x.zeroPoint![0] === first.zeroPoint![0] && x.container === first.container);
      const grid = oneGrid
        ? { channels: 1, inner: C * HW, scale: first.scale, zeroPoint: first.zeroPoint, lo: Int32Array.of(Math.min(...xs.map((x) => x.lo![0]))), hi: Int32Array.of(Math.max(...xs.map((x) => x.hi![0]))) }
        : perChannelGrid(xs);
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

/** The grid of codes concatenated along the channels: each input's (per-tensor or per-channel) parameters on its channels. */
function perChannelGrid(xs: PlannedValue[]): { channels: number; inner: number; scale: Float64Array; zeroPoint: Int32Array; lo: Int32Array; hi: Int32Array } {
  const C = xs.reduce((a, x) => a + x.shape[0], 0);
  const scale = new Float64Array(C);
  const zeroPoint = new Int32Array(C);
  const lo = new Int32Array(C);
  const hi = new Int32Array(C);
  let c0 = 0;
  for (const x of xs) {
    const n = x.shape[0];
    const p = channelParams(x, n);
    for (let c = 0; c < n; c++) {
      scale[c0 + c] = p.scale[c];
      zeroPoint[c0 + c] = p.zeroPoint[c];
      lo[c0 + c] = x.lo![x.channels === 1 ? 0 : c];
      hi[c0 + c] = x.hi![x.channels === 1 ? 0 : c];
    }
    c0 += n;
  }
  return { channels: C, inner: xs[0].shape[1] * xs[0].shape[2], scale, zeroPoint, lo, hi };
}
