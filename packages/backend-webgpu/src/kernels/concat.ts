import { type Node, NibbleError } from '@nibble/ir';
import { type CodesGrid, concatenatedGrid, concatLayout } from '@nibble/quant';
import { type Buf, codesRange, type CompileContext, elementGroups, type PlannedValue, sizeOf } from '../plan';
import { registerKernel } from '../registry';
import { COPY_SHADER } from '../wgsl';
import { realOfCodes } from './real';
import { soleReader } from './table';

/*
 * Concat along the channels (PP-OCR's FPN fuses four maps), as the wasm
 * plan decides it. Codes stay codes: the output carries each input's grid
 * on its own channels (@nibble/quant concatenatedGrid), the words copied
 * into their part. Otherwise the output is real, and here a function of the
 * concatenated integers: of codes (dequantized codes, table values), of two
 * codes (pairs; a part of one code gets zeros beside it), or of int32
 * words, each channel by its input's function. Where every input can write
 * the codes of the per-tensor QuantizeLinear that follows (the detector's
 * FPN: sums and their nearest upsamplings), each writes them and a copy
 * puts them in their part; the unfused copies are then skipped.
 */

interface Part {
  value: PlannedValue;
  /** Where its channels begin in the output, and where its words begin. */
  c0: number;
  at: number;
}

/** A codes buffer as wide as the output, its parts copied in from each input (`pick` gives an input's codes, or none: zeros). */
function concatenatedCodes(ctx: CompileContext, node: Node, parts: Part[], shape: number[], pick: (v: PlannedValue) => PlannedValue | undefined, skip: () => boolean): PlannedValue {
  const picked = parts.map((p) => pick(p.value));
  const top = Math.max(...picked.map((v) => (v ? codesRange(v) - 1 : 0)));
  const n = sizeOf(shape);
  const codes = ctx.define(`${node.outputs[0].name}#codes${ctx.steps.length}`, {
    kind: 'codes', shape, channels: 1, inner: n, scale: Float64Array.of(1), zeroPoint: Int32Array.of(0), lo: Int32Array.of(0), hi: Int32Array.of(top),
    container: picked.some((v) => v && v.container !== 'uint4') ? 'uint8' : 'uint4', asCodes: false,
  });
  // A part without codes here reads its own first codes, masked to zeros.
  parts.forEach((p, i) => copy(ctx, node, (picked[i] ?? p.value.pair?.a ?? p.value.codes)!.buffer, codes.buffer, sizeOf(p.value.shape), p.at, picked[i] ? -1 : 0, skip));
  return codes;
}

/** A step copying n words of `from` to word `at` of `to` (ANDed with mask). */
function copy(ctx: CompileContext, node: Node, from: Buf, to: Buf, n: number, at: number, mask: number, skip: () => boolean): void {
  from.lastUse = Math.max(from.lastUse, ctx.steps.length);
  ctx.emit(node, 'concat', () => (skip() ? undefined : { key: 'copy', wgsl: () => COPY_SHADER, bindings: [{ buf: from }, { write: to }], params: [n, at, mask], groups: elementGroups(n) }));
}

registerKernel({
  opType: 'Concat',
  compile(node, ctx) {
    const count = node.inputs.filter((v) => v).length;
    const xs = Array.from({ length: count }, (_, i) => ctx.input(node, i));
    const { C, H, W, offsets } = concatLayout(node, xs.map((x) => x.shape), (m, h) => ctx.fail(node, m, h));
    if (xs.some((x) => x.clamp)) return ctx.fail(node, 'an input is a pending clamp (Max/Min before QuantizeLinear)');
    const HW = H * W;
    const shape = [C, H, W];
    const name = node.outputs[0].name;
    const parts = xs.map((x, i): Part => ({ value: x.kind === 'codes' ? realOfCodes(x) : x, c0: xs.slice(0, i).reduce((a, v) => a + v.shape[0], 0), at: offsets[i] }));
    if (xs.every((x) => x.kind === 'codes')) {
      const grid = concatenatedGrid(xs as (CodesGrid & { shape: number[] })[], (m, h) => ctx.fail(node, m, h));
      const y = ctx.define(name, { kind: 'codes', shape, ...grid, container: xs.some((x) => x.container === 'uint8') ? 'uint8' : 'uint4', asCodes: false });
      parts.forEach((p, i) => copy(ctx, node, xs[i].buffer, y.buffer, sizeOf(p.value.shape), p.at, -1, () => false));
      return;
    }
    if (parts.some((p) => p.value.channels !== 1 && p.value.channels !== p.value.shape[0])) return ctx.fail(node, 'an input is a value with channels other than its own');
    // Output channel c: its input, and that input's channel.
    const partOf = Int32Array.from({ length: C }, (_, c) => parts.filter((p) => p.c0 <= c).length - 1);
    const local = (c: number): [PlannedValue, number] => {
      const p = parts[partOf[c]];
      return [p.value, p.value.channels === 1 ? 0 : c - p.c0];
    };
    const f32 = xs.every((x) => x.table || (x.kind === 'real' && x.f32));
    const mode = { fused: false };
    const skip = (): boolean => mode.fused;
    const real = { kind: 'real' as const, shape, channels: C, inner: HW, f32 };
    let y: PlannedValue;
    if (parts.every((p) => p.value.base === 'i32')) {
      y = ctx.define(name, { ...real, base: 'i32', value: (c, v) => { const [p, l] = local(c); return p.value!(l, v); } });
      parts.forEach((p) => copy(ctx, node, p.value.buffer, y.buffer, sizeOf(p.value.shape), p.at, -1, skip));
    } else if (parts.every((p) => p.value.base === 'codes' || p.value.base === 'pair')) {
      const a = concatenatedCodes(ctx, node, parts, shape, (v) => v.pair?.a ?? v.codes, skip);
      if (parts.some((p) => p.value.pair)) {
        const b = concatenatedCodes(ctx, node, parts, shape, (v) => v.pair?.b, skip);
        y = ctx.define(name, { ...real, base: 'pair', buffer: a.buffer, pair: { a, b, value: (c, qa, qb) => { const [p, l] = local(c); return p.pair ? p.pair.value(l, qa, qb) : p.value!(l, qa); } } });
      } else {
        y = ctx.define(name, { ...real, base: 'codes', buffer: a.buffer, codes: a, value: (c, q) => { const [p, l] = local(c); return p.value!(l, q); } });
      }
    } else {
      return ctx.fail(node, 'its inputs mix int32 sums and codes (or hold the float input): no one integer form holds them', 'WGSL has no float64: run this model with --backend wasm');
    }
    const fusable = xs.map((x, i) => (x.kind === 'real' && !x.table && soleReader(ctx, node, i) ? x.fuseQuantize : undefined));
    if (!fusable.every((f) => f)) return;
    const unfused = [y.pair ? [y.pair.a.buffer, y.pair.b.buffer] : y.codes ? [y.codes.buffer] : [y.buffer]].flat();
    y.fuseQuantize = (q, into) => {
      if (q.channels !== 1) return false;
      const codes = parts.map((p, i) => {
        const b = ctx.buffer(sizeOf(p.value.shape));
        // Per tensor, every producer's fusion succeeds (the integer conv, Add of codes and Resize of them).
        if (!fusable[i]!(q, b)) throw new NibbleError('E_INTERNAL', `${node.name}: input ${i} could not write the codes it was asked for`);
        return b;
      });
      mode.fused = true;
      for (const b of unfused) b.words = 0;
      parts.forEach((p, i) => {
        codes[i].lastUse = ctx.steps.length;
        copy(ctx, node, codes[i], into, sizeOf(p.value.shape), p.at, -1, () => false);
      });
      return true;
    };
  },
});
